# lit configuration for the nm dialect's FileCheck tests.
#
# Under Bazel: `bazel test //tests/lit:lit` (run_lit.sh passes the nm-opt
# path and a scratch exec root). By hand, after `bazel build //tools/nm-opt`:
#   /usr/lib/llvm-22/bin/lit -v tests/lit
import os

import lit.formats

config.name = "neuromancer"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))

repo_root = os.path.dirname(os.path.dirname(config.test_source_root))
nm_opt = lit_config.params.get(
    "nm_opt", os.path.join(repo_root, "bazel-bin", "tools", "nm-opt", "nm-opt"))
config.test_exec_root = lit_config.params.get(
    "exec_root", os.path.join(repo_root, "bazel-out", "lit-output"))
llvm_bin = lit_config.params.get("llvm_bin", "/usr/lib/llvm-22/bin")

if not os.path.exists(nm_opt):
    lit_config.fatal("nm-opt not found at %s (build //tools/nm-opt first or "
                     "pass --param nm_opt=PATH)" % nm_opt)

config.environment["PATH"] = os.pathsep.join(
    [os.path.dirname(os.path.abspath(nm_opt)), llvm_bin,
     config.environment.get("PATH", os.environ.get("PATH", ""))])
