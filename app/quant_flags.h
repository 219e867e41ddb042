// The flags `train_qat` and `ptq` share, and their translation into a QuantJob.
#pragma once

#include "app/flags.h"
#include "app/quantize_job.h"

namespace qg::app {

std::vector<FlagSpec> quant_flag_specs(QuantMethod method);
QuantJob quant_job_from_flags(const Flags& flags, QuantMethod method);

}  // namespace qg::app
