// The inspection (`train_qat --inspect`, `ptq --inspect`): its table and report name each quantizer by the
// config's layer number, give the grid's float range, and explain their columns.
#include "app/inspect.h"

#include <gtest/gtest.h>

#include "core/random.h"
#include "nn/layers/activation.h"
#include "nn/layers/flatten.h"
#include "nn/layers/linear.h"
#include "nn/layers/sequential.h"
#include "quant/qat_model.h"

namespace qg::app {
namespace {

// flatten (0), linear (1), relu (2), linear (3): with the ReLU fused the QAT model has three layers.
std::shared_ptr<quant::QatModel> observed_mlp() {
  Generator gen(3);
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(16, 8, true, gen));
  net->add(std::make_shared<nn::ReLU>());
  net->add(std::make_shared<nn::Linear>(8, 4, true, gen));
  quant::QuantSettings settings;
  settings.fuse_relu = true;
  settings.activation = settings.weight = {4, false, false};
  auto qat = quant::prepare_qat(*net, settings);
  set_inspecting(*qat, true);
  qat->set_observing(true);
  qat->train();
  Generator data(5);
  for (int step = 0; step < 3; ++step)
    qat->forward(Tensor::randn({5, 1, 4, 4}, data));
  return qat;
}

TEST(Inspection, LayersGoByTheirConfigNumber) {
  auto qat = observed_mlp();
  ASSERT_EQ(qat->layers().size(), 3u);
  const nlohmann::json layers = inspection_json(*qat);
  ASSERT_EQ(layers.size(), 2u);  // the flatten has no quantizer
  EXPECT_EQ(layers[0]["layer"], 1);
  EXPECT_EQ(layers[1]["layer"], 3);  // the QAT model's layer 2
  const std::string table = inspection_table(*qat, "after 3 steps");
  EXPECT_NE(table.find("  1 QLinear"), std::string::npos) << table;
  EXPECT_NE(table.find("  3 QLinear"), std::string::npos) << table;
  EXPECT_EQ(table.find("  2 QLinear"), std::string::npos) << table;
}

TEST(Inspection, TheTableShowsEachGridsRangeAndExplainsItsColumns) {
  auto qat = observed_mlp();
  const std::string table = inspection_table(*qat, "after 3 steps");
  // The output point of layer 3: unsigned 4 bits, so the codes 0..15 cover [S (0 - Z), S (15 - Z)].
  const quant::QParams q = qat->layers()[2]->quant_points().back().second->qparams();
  char range[64];
  std::snprintf(range, sizeof range, "[%.3g, %.3g]", q.scale[0] * static_cast<float>(0 - q.zero_point[0]),
                q.scale[0] * static_cast<float>(15 - q.zero_point[0]));
  EXPECT_NE(table.find(range), std::string::npos) << range << " in\n" << table;
  for (const char* term : {"layer: the config's layer number", "SQNR, round, clip", "in dB",
                           "clamped:", "STE=0:", "weight codes changed:"})
    EXPECT_NE(table.find(term), std::string::npos) << term;
}

}  // namespace
}  // namespace qg::app
