# lit configuration for the FileCheck tests of the nm dialect, its passes and
# the neuromancer CLI.
#
# Under Bazel: `bazel test //tests/lit:lit` (run_lit.sh passes the tool
# directories and a scratch exec root). By hand, after
# `bazel build //tools/... //examples:cnn3d //tests/predict:tiny_model`:
#   /usr/lib/llvm-22/bin/lit -v tests/lit
import os

import lit.formats

config.name = "neuromancer"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))

repo_root = os.path.dirname(os.path.dirname(config.test_source_root))
bazel_bin = os.path.join(repo_root, "bazel-bin")
default_dirs = os.pathsep.join(
    os.path.join(bazel_bin, d)
    for d in ("tools/nm-opt", "tools/neuromancer", "examples", "tests/predict"))
tool_dirs = lit_config.params.get("tool_dirs", default_dirs)
config.test_exec_root = lit_config.params.get(
    "exec_root", os.path.join(repo_root, "bazel-out", "lit-output"))
llvm_bin = lit_config.params.get("llvm_bin", "/usr/lib/llvm-22/bin")

for tool in ("nm-opt", "neuromancer", "cnn3d", "tiny_model"):
    if not any(os.path.exists(os.path.join(d, tool))
               for d in tool_dirs.split(os.pathsep)):
        lit_config.fatal("%s not found in %s (bazel build //tools/... "
                         "//examples:cnn3d //tests/predict:tiny_model first, "
                         "or pass --param tool_dirs=DIR:DIR)"
                         % (tool, tool_dirs))

config.environment["PATH"] = os.pathsep.join(
    [tool_dirs, llvm_bin,
     config.environment.get("PATH", os.environ.get("PATH", ""))])
# The CLI and examples print node reprs through the logger; keep the IR clean.
config.environment["NEUROMANCER_LOG_LEVEL"] = "warning"
