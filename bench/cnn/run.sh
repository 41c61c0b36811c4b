#!/usr/bin/env bash
# npm run bench:cnn: the CNN training step (28x28 grayscale and 64x64 RGB, batch 64, each also with
# batch norm) against PyTorch 1.13 on the CPU. Installs nothing; needs Debian's PyTorch with OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/../.."

source bench/require-torch.sh bench/cnn

exec npx tsx bench/cnn/bench.ts --write-results "$@"
