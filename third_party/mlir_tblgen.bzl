"""mlir-tblgen as a hermetic genrule, against Debian's LLVM/MLIR 22."""

_TBLGEN = "@llvm22//:bin/mlir-tblgen"

def mlir_gentbl(name, td_file, outs, td_srcs = [], includes = []):
    """Runs mlir-tblgen once per output.

    Args:
      name: name of the filegroup bundling all generated files.
      td_file: the main .td file.
      outs: dict {generated file: "-gen-... [flags]"}.
      td_srcs: other .td files that td_file includes (td_file itself may
        be listed too; it is skipped).
      includes: extra -I directories, relative to the workspace root.
    """
    inc = " ".join(["-I " + i for i in includes])
    generated = []
    for out, flags in outs.items():
        rule = name + "_" + out.replace("/", "_").replace(".", "_")
        native.genrule(
            name = rule,
            srcs = [td_file] + [t for t in td_srcs if t != td_file] +
                   ["@llvm22//:mlir_td_files"],
            outs = [out],
            tools = [_TBLGEN],
            cmd = ("$(location %s) %s -I external/llvm22/include -I . -I $(GENDIR) %s " +
                   "$(location %s) -o $@") % (_TBLGEN, flags, inc, td_file),
        )
        generated.append(out)
    native.filegroup(name = name, srcs = generated)
