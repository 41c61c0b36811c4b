#!/usr/bin/env bash
# npm run bench:cnn: the CNN training step (28x28 grayscale and 64x64 RGB, batch 64, each also with
# batch norm) against PyTorch 1.13 on the CPU. Installs nothing; needs Debian's PyTorch with OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "bench/cnn needs PyTorch for /usr/bin/python3. Install it with:" >&2
  echo "  sudo apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 2
fi

exec npx tsx bench/cnn/bench.ts --write-results "$@"
