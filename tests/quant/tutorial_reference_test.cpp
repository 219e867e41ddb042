// The `tutorial` method is the seed's experiment and must stay bit-identical to it (issue 11): the whole
// pipeline — float training, the tutorial's QAT, freeze, convert — on fixed synthetic data gives the same
// integer model and the same logit codes as the implementation recorded in tests/fixtures/
// tutorial_reference.json (by tests/fixtures/make_tutorial_reference.sh, from the commit it names).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "quant/tutorial_reference.h"

namespace qg::quant {
namespace {

TEST(TutorialReference, TheTutorialsPipelineIsBitIdenticalToTheRecordedOne) {
  std::ifstream in(std::string(QG_FIXTURES_DIR) + "/tutorial_reference.json");
  ASSERT_TRUE(in) << "tests/fixtures/tutorial_reference.json";
  const nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc.at("cases").size(), 4u);
  for (const nlohmann::json& c : doc.at("cases")) {
    const bool bn = c.at("with_bn"), per_channel = c.at("per_channel");
    const int bits = c.at("bits");
    EXPECT_EQ(qg::testing::tutorial_pipeline_digest(bn, bits, per_channel), c.at("digest").get<std::string>())
        << (bn ? "NetBN" : "Net") << " " << bits << " bits" << (per_channel ? " per channel" : "")
        << ", against commit " << doc.at("reference_commit").get<std::string>();
  }
}

}  // namespace
}  // namespace qg::quant
