#!/usr/bin/env bash
# Serving bench: modelstack serve vs Flask + gunicorn + PyTorch (SageMaker's BYOC example stack).
# Installs the peer from Debian packages when missing, then runs bench.ts; arguments pass through
# (e.g. `npm run bench:serve -- --duration 20 --rounds 3`). With --skip-peer nothing is installed:
# modelstack is measured against bare node:http only.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip_peer=false
for arg in "$@"; do [ "$arg" = --skip-peer ] && skip_peer=true; done

if [ "$skip_peer" = false ] && { ! /usr/bin/python3 -c 'import torch, flask' 2>/dev/null || ! command -v gunicorn >/dev/null || ! command -v nginx >/dev/null || ! command -v taskset >/dev/null; }; then
  echo "installing the peer: python3-torch libopenblas0-pthread python3-flask gunicorn nginx-light (Debian)" >&2
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread python3-flask gunicorn nginx-light util-linux
fi

exec npx tsx bench/serve/bench.ts "$@"
