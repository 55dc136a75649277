//===- CpuBackend.cpp - the compiler as the frontend's backend ------------===//
#include "neuromancer/compiler/backend/CpuBackend.h"

#include "neuromancer/compiler/driver/Driver.h"
#include "neuromancer/frontend/Backend.h"

#include <mutex>

namespace nm {
namespace {

class CpuBackend final : public Backend {
public:
  std::string name() const override { return "cpu"; }

  std::string to_mlir(const std::vector<GraphFunction> &functions,
                      const std::string &what) const override {
    return driver::printGraph(functions, what);
  }

  std::shared_ptr<const Executable> compile(const GraphFunction &function,
                                            const std::string &what,
                                            const std::vector<Sizes> &shapes,
                                            bool &fromCache) const override {
    driver::Compilation compilation(what);
    mlir::func::FuncOp func = compilation.import(function);
    if (function.densify)
      compilation.densify(func, shapes);
    else if (!shapes.empty())
      compilation.specialise(func, shapes);
    if (!function.training.empty())
      compilation.differentiate(func, function.training);
    jit::CacheResult result = compilation.compileLoaded({}, function.name);
    fromCache = result.source == jit::CacheSource::Disk;
    return result.executable;
  }
};

} // namespace

void register_cpu_backend() {
  static std::once_flag once;
  std::call_once(once,
                 [] { register_backend(std::make_shared<CpuBackend>()); });
}

} // namespace nm
