#include "onnx_io/import_job.h"

#include <sstream>

#include "app/file_roles.h"
#include "config/summary.h"
#include "nn/checkpoint.h"
#include "util/atomic_file.h"

namespace qg::onnx_io {

std::string run_import_job(const ImportJob& job) {
  app::check_outputs_apart({{"--onnx", job.onnx_path}},
                           {{"--out-config", job.config_out}, {"--out-ckpt", job.checkpoint_out}});
  const ImportedModel imported = import_float(job.onnx_path, job.options);
  util::write_file_atomically(job.config_out, imported.config_json.dump(2) + "\n");
  nn::save_checkpoint(job.checkpoint_out, imported.checkpoint);

  std::ostringstream out;
  out << "Imported " << job.onnx_path << " as \"" << imported.config.name << "\": " << imported.layers.size()
      << " layers\n";
  for (size_t i = 0; i < imported.layers.size(); ++i)
    out << "  layer " << i << " " << imported.layers[i].kind << " <- " << imported.layers[i].origin << "\n";
  out << "\n" << config::summary(imported.config) << "\n";
  out << "Wrote " << job.config_out << " (config) and " << job.checkpoint_out
      << " (float checkpoint: ptq --config " << job.config_out << " --from " << job.checkpoint_out << ")\n";
  return out.str();
}

}  // namespace qg::onnx_io
