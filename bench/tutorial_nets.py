"""The tutorial's two MNIST networks in PyTorch, as Jermmy/pytorch-quantization-demo's model.py defines them.

Net: conv1 1->40 3x3, relu, max pool 2, conv2 40->40 3x3 groups 20, relu, max pool 2, x.view(-1, 5*5*40),
fc 1000->10 (11,170 parameters; quantgrad's configs/mnist_cnn.json). NetBN: the same with a BatchNorm2d after
each convolution and no groups (configs/mnist_cnn_bn.json). Used by tests/fixtures/make_onnx_fixtures.py and
bench/torch_net_onnx.py.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, num_channels=1):
        super().__init__()
        self.conv1 = nn.Conv2d(num_channels, 40, 3, 1)
        self.conv2 = nn.Conv2d(40, 40, 3, 1, groups=20)
        self.fc = nn.Linear(5 * 5 * 40, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2, 2)
        x = x.view(-1, 5 * 5 * 40)
        return self.fc(x)


class NetBN(nn.Module):
    def __init__(self, num_channels=1):
        super().__init__()
        self.conv1 = nn.Conv2d(num_channels, 40, 3, 1)
        self.bn1 = nn.BatchNorm2d(40)
        self.conv2 = nn.Conv2d(40, 40, 3, 1)
        self.bn2 = nn.BatchNorm2d(40)
        self.fc = nn.Linear(5 * 5 * 40, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.max_pool2d(x, 2, 2)
        x = x.view(-1, 5 * 5 * 40)
        return self.fc(x)
