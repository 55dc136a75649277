#!/usr/bin/env bash
# Installs Debian's libdnnl-dev (oneDNN 2.6, the peer that bench/cnn_bench and
# bench/train_bench call directly) as root when it is missing. Used by
# bench/run.sh and bench/run_train.sh.
set -euo pipefail
if ! dpkg-query -W -f='${Status}' libdnnl-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "bench: installing libdnnl-dev (oneDNN)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends libdnnl-dev ||
    { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends libdnnl-dev; }
fi
