#!/usr/bin/env bash
# Installs what neuromancer needs from Debian, idempotently. Run as root.
# Versions are pinned by package name (LLVM/MLIR 22, Bazel 4.2.3); a package that
# is already installed is left alone, so a warm machine pays nothing.
set -euo pipefail

PACKAGES=(
  # Compiler and MLIR/LLVM 22 (libMLIR.so, mlir-tblgen, lit, FileCheck).
  clang-22 llvm-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  # Build system: Bazel 4.2.3, offline.
  bazel-bootstrap
  # Libraries: HDF5 (model files, data), JSON (graph description), GoogleTest.
  libhdf5-dev hdf5-tools nlohmann-json3-dev libgtest-dev libgmock-dev
  # The command line of the neuromancer tool.
  libcli11-dev
  # PNG previews of the synthetic EM data (neuromancer make-data).
  libpng-dev
  # The trainer: TOML configs, plots (PLplot, cairo driver), the model graph.
  libtomlplusplus-dev libplplot-dev plplot-driver-cairo graphviz libgraphviz-dev
  # clang-format for the style check.
  clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

bazel_version=$(dpkg-query -W -f='${Version}' bazel-bootstrap)
case "$bazel_version" in
  4.2.3*) ;;
  *) echo "setup: expected bazel-bootstrap 4.2.3, found $bazel_version" >&2; exit 1 ;;
esac
[ -x /usr/lib/llvm-22/bin/mlir-tblgen ] || { echo "setup: /usr/lib/llvm-22/bin/mlir-tblgen missing" >&2; exit 1; }
echo "setup: all packages present"
