// Hostile and malformed ONNX files (docs/ROBUSTNESS.md): each gets one OnnxError line naming the file and,
// where there is one, the node; never a crash, a hang or an allocation sized by the file's claims. The bad
// models are made here with ONNX's protobuf classes, from a fixture or from scratch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "onnx_io/graph_builder.h"
#include "onnx_io/import_float.h"
#include "onnx_io/model_proto_file.h"
#include "util/atomic_file.h"

namespace qg::onnx_io {
namespace {

const std::string kWhat = "bad.onnx";

std::string fixture_bytes(const std::string& name) {
  return util::read_file(std::string(QG_FIXTURES_DIR) + "/onnx/" + name);
}

// The tutorial's Net as torch exported it. Nodes: 0 Conv, 1 Relu, 2 MaxPool, 3 Conv, 4 Relu, 5 MaxPool,
// 6 Constant (the view's shape), 7 Reshape, 8 Gemm.
onnx::ModelProto net() {
  return parse_model_proto(fixture_bytes("net.onnx"), "net.onnx");
}

// The message import_float_bytes throws for `bytes`; a test failure if it accepts them or throws anything
// other than an OnnxError.
std::string refusal(const std::string& bytes) {
  try {
    import_float_bytes(bytes, kWhat);
  } catch (const OnnxError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.rfind(kWhat + ": ", 0), 0u) << m;
    return m;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an OnnxError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted";
  return "";
}

std::string refusal(const onnx::ModelProto& model) {
  std::string bytes;
  EXPECT_TRUE(model.SerializeToString(&bytes));
  return refusal(bytes);
}

// `model` with `change` applied.
onnx::ModelProto changed(onnx::ModelProto model, const std::function<void(onnx::ModelProto&)>& change) {
  change(model);
  return model;
}

onnx::TensorProto* initializer(onnx::ModelProto& m, const std::string& name) {
  for (onnx::TensorProto& t : *m.mutable_graph()->mutable_initializer())
    if (t.name() == name) return &t;
  throw std::logic_error("no initializer " + name);
}

void set_int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
}

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

TEST(HostileOnnx, TheFixtureItselfImports) {
  EXPECT_NO_THROW(import_float_bytes(fixture_bytes("net.onnx"), kWhat));
}

TEST(HostileOnnx, TruncatedAtAnyLength) {
  const std::string bytes = fixture_bytes("net.onnx");
  for (size_t n = 0; n < bytes.size(); n += n < 256 ? 1 : 331)
    refusal(bytes.substr(0, n));
}

TEST(HostileOnnx, NotProtobuf) {
  EXPECT_HAS(refusal(std::string("\x89PNG\r\n\x1a\n not an onnx file at all \xff\xff\xff", 33)),
             "not an ONNX model");
  EXPECT_HAS(refusal(std::string("")), "empty file");
}

TEST(HostileOnnx, HugeDimsAreNeverAllocated) {
  // 2^40 x 2^20 elements over 40,000 bytes of data, and 10^5 x 10^5 (under the product bound, over the data).
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::TensorProto& w = *initializer(m, "fc.weight");
                               w.set_dims(0, int64_t{1} << 40);
                               w.set_dims(1, int64_t{1} << 20);
                             })),
             "tensor \"fc.weight\" has more than");
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::TensorProto& w = *initializer(m, "fc.weight");
                               w.set_dims(0, 10000);
                               w.set_dims(1, 10000);
                             })),
             "tensor \"fc.weight\": its dims give 100000000 elements but its data holds 10000");
  EXPECT_HAS(
      refusal(changed(net(), [](onnx::ModelProto& m) { initializer(m, "fc.weight")->set_dims(0, -10); })),
      "negative dim");
}

TEST(HostileOnnx, ACycleAndAValueUsedBeforeItIsMade) {
  // Relu (node 1) reads the MaxPool after it, which reads the Relu: a cycle.
  const std::string cycle = refusal(changed(net(), [](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(1)->set_input(0, m.graph().node(2).output(0));
  }));
  EXPECT_HAS(cycle, "node 1 \"/Relu\" (Relu): input 0");
  EXPECT_HAS(cycle, "is not made by an earlier node");
  // Nodes 0 and 1 swapped: the Relu reads the conv's output before the conv.
  EXPECT_HAS(refusal(changed(
                 net(), [](onnx::ModelProto& m) { m.mutable_graph()->mutable_node()->SwapElements(0, 1); })),
             "node 0 \"/Relu\" (Relu): input 0");
}

TEST(HostileOnnx, ExternalDataIsRefusedNotOpened) {
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::TensorProto& w = *initializer(m, "fc.weight");
                               w.clear_raw_data();
                               w.set_data_location(onnx::TensorProto::EXTERNAL);
                               onnx::StringStringEntryProto& e = *w.add_external_data();
                               e.set_key("location");
                               e.set_value("../../../etc/passwd");
                             })),
             "tensor \"fc.weight\": its data is in an external file");
}

TEST(HostileOnnx, DuplicateNamesAndMissingInitializers) {
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               *m.mutable_graph()->add_initializer() = *initializer(m, "fc.bias");
                             })),
             "initializer \"fc.bias\" is defined twice");
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               m.mutable_graph()->mutable_node(1)->set_output(0, "conv1.weight");
                             })),
             "node 1 \"/Relu\" (Relu): output \"conv1.weight\" is already defined");
  const std::string missing = refusal(changed(net(), [](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(8)->set_input(1, "no_such_weight");
  }));
  EXPECT_HAS(missing, "node 8 \"/fc/Gemm\" (Gemm): input 1 \"no_such_weight\" is not made by");
}

TEST(HostileOnnx, OneTensorIsOneLayersWeights) {
  // Read twice it would be copied twice: a 1 MB tensor named by 10^4 nodes must not become 10 GB.
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               m.mutable_graph()->mutable_node(3)->set_input(1, "conv1.weight");
                             })),
             "node 3 \"/conv2/Conv\" (Conv): weight \"conv1.weight\" is already another layer's");
  // The view's shape read by a Reshape must be small before it is read.
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::TensorProto& shape =
                                   *m.mutable_graph()->mutable_node(6)->mutable_attribute(0)->mutable_t();
                               shape.set_dims(0, 3);
                               shape.set_raw_data(std::string(24, '\0'));
                             })),
             "node 7 \"/Reshape\" (Reshape): tensor");
}

TEST(HostileOnnx, NamesWithControlBytesStayOneLine) {
  const std::string m = refusal(changed(net(), [](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(1)->set_name("evil\nname");
    m.mutable_graph()->mutable_node(1)->set_op_type(std::string("Relu\0\xff", 6));
  }));
  EXPECT_HAS(m, "node 1 \"evil\\x0aname\" (Relu\\x00\\xff): op type Relu\\x00\\xff is not supported");
}

TEST(HostileOnnx, NamesThatAreNotTextBecomeAsciiInTheConfig) {
  // Invalid UTF-8 in the producer and a node name: the config and the checkpoint metadata stay JSON text.
  const ImportedModel imported = import_float_bytes(
      [] {
        onnx::ModelProto m = net();
        m.set_producer_name("\xff\xfe");
        m.mutable_graph()->mutable_node(0)->set_name("\xc3\x28");
        std::string bytes;
        m.SerializeToString(&bytes);
        return bytes;
      }(),
      "bad\xff.onnx");
  EXPECT_NO_THROW((void)imported.config_json.dump());
  EXPECT_NO_THROW((void)imported.checkpoint.metadata.dump());
  EXPECT_EQ(imported.config.name, "bad_");  // from the file name, made a file-name part
}

TEST(HostileOnnx, NonFiniteWeights) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    EXPECT_HAS(refusal(changed(net(),
                               [bad](onnx::ModelProto& m) {
                                 std::string& raw = *initializer(m, "conv2.bias")->mutable_raw_data();
                                 std::memcpy(raw.data() + 8, &bad, 4);
                               })),
               "node 3 \"/conv2/Conv\" (Conv): tensor \"conv2.bias\": element 2 is");
  }
}

TEST(HostileOnnx, OpsetsOutsideSevenToSeventeen) {
  for (const int64_t opset : {6, 18, 1000000}) {
    EXPECT_HAS(refusal(changed(
                   net(), [opset](onnx::ModelProto& m) { m.mutable_opset_import(0)->set_version(opset); })),
               "opset " + std::to_string(opset) + " is not supported (expected 7 to 17)");
  }
}

TEST(HostileOnnx, ATrainingModeBatchNormIsRefused) {
  // Before opset 14, training mode is a BatchNormalization with its running statistics as outputs.
  onnx::ModelProto m = parse_model_proto(fixture_bytes("net_bn.onnx"), "net_bn.onnx");
  ASSERT_EQ(m.graph().node(1).op_type(), "BatchNormalization");
  m.mutable_graph()->mutable_node(1)->add_output("running_mean_out");
  EXPECT_HAS(refusal(m),
             "node 1 \"/bn1/BatchNormalization\" (BatchNormalization): output 1 is given: a "
             "BatchNormalization in training mode");
}

TEST(HostileOnnx, AConfigNameMustBeAFileNamePart) {
  ImportOptions options;
  options.name = "bad name/../x";
  try {
    import_float_bytes(fixture_bytes("net.onnx"), kWhat, options);
    ADD_FAILURE() << "accepted";
  } catch (const OnnxError& e) {
    EXPECT_HAS(std::string(e.what()), "a config name may hold letters, digits");
  }
  options.name = "net-2.v1";
  EXPECT_EQ(import_float_bytes(fixture_bytes("net.onnx"), kWhat, options).config.name, "net-2.v1");
}

TEST(HostileOnnx, UnsupportedAttributesNameTheNode) {
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::AttributeProto& a = *m.mutable_graph()->mutable_node(0)->add_attribute();
                               a.set_name("auto_pad");
                               a.set_type(onnx::AttributeProto::STRING);
                               a.set_s("SAME_UPPER");
                             })),
             "node 0 \"/conv1/Conv\" (Conv): attribute auto_pad = SAME_UPPER is not supported");
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::AttributeProto& a = *m.mutable_graph()->mutable_node(2)->add_attribute();
                               a.set_name("dilations");
                               a.set_type(onnx::AttributeProto::INTS);
                               a.add_ints(2);
                               a.add_ints(2);
                             })),
             "node 2 \"/MaxPool\" (MaxPool): attribute dilations = [2, 2] is not supported on a pool");
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::NodeProto& gemm = *m.mutable_graph()->mutable_node(8);
                               for (onnx::AttributeProto& a : *gemm.mutable_attribute())
                                 if (a.name() == "alpha") a.set_f(2.0f);
                               bool has_alpha = false;
                               for (const onnx::AttributeProto& a : gemm.attribute())
                                 has_alpha = has_alpha || a.name() == "alpha";
                               if (!has_alpha) {
                                 onnx::AttributeProto& a = *gemm.add_attribute();
                                 a.set_name("alpha");
                                 a.set_type(onnx::AttributeProto::FLOAT);
                                 a.set_f(2.0f);
                               }
                             })),
             "node 8 \"/fc/Gemm\" (Gemm): attribute alpha = 2 is not supported (expected 1)");
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               set_int_attribute(*m.mutable_graph()->mutable_node(1), "alpha", 1);
                             })),
             "node 1 \"/Relu\" (Relu): attribute alpha is not supported");
}

TEST(HostileOnnx, WeightsMustBeConstantAndConvolutionsTwoDimensional) {
  // The second conv's weight taken from the first Relu's output.
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               m.mutable_graph()->mutable_node(3)->set_input(1, m.graph().node(1).output(0));
                             })),
             "node 3 \"/conv2/Conv\" (Conv): input 1 \"/Relu_output_0\" (weight) is computed in the graph");
  // A 3-D kernel: the conv1 weight [40, 1, 3, 3] given a fifth dim.
  EXPECT_HAS(
      refusal(changed(net(), [](onnx::ModelProto& m) { initializer(m, "conv1.weight")->add_dims(1); })),
      "node 0 \"/conv1/Conv\" (Conv): weight \"conv1.weight\" has 5 dims: only 2-D convolutions");
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               onnx::TensorProto& w = *initializer(m, "conv1.weight");
                               w.clear_dims();
                               for (const int64_t d : {40, 1, 9})
                                 w.add_dims(d);
                             })),
             "node 0 \"/conv1/Conv\" (Conv): weight \"conv1.weight\" has 3 dims");
}

TEST(HostileOnnx, ShapesThatDoNotFitTheConfig) {
  // x.view(-1, 999): not a flatten of [40, 5, 5].
  const std::string view = refusal(changed(net(), [](onnx::ModelProto& m) {
    onnx::TensorProto& shape = *m.mutable_graph()->mutable_node(6)->mutable_attribute(0)->mutable_t();
    const int64_t dims[2] = {-1, 999};
    shape.set_raw_data(std::string(reinterpret_cast<const char*>(dims), sizeof dims));
  }));
  EXPECT_HAS(view, "node 7 \"/Reshape\" (Reshape)");
}

TEST(HostileOnnx, OnnxsCheckerRunsToo) {
  // Nothing this importer looks at is wrong, but the model has no IR version: ONNX's checker refuses it.
  EXPECT_HAS(refusal(changed(net(), [](onnx::ModelProto& m) { m.clear_ir_version(); })), "ONNX checker");
}

TEST(HostileOnnx, GraphInputAndOutput) {
  EXPECT_HAS(refusal(changed(net(),
                             [](onnx::ModelProto& m) {
                               m.mutable_graph()
                                   ->mutable_input(0)
                                   ->mutable_type()
                                   ->mutable_tensor_type()
                                   ->mutable_shape()
                                   ->mutable_dim(2)
                                   ->set_dim_value(0);
                             })),
             "graph input \"input\": dim 2 must be a fixed positive size");
  EXPECT_HAS(refusal(changed(
                 net(), [](onnx::ModelProto& m) { *m.mutable_graph()->add_output() = m.graph().output(0); })),
             "expected one graph output");
}

}  // namespace
}  // namespace qg::onnx_io
