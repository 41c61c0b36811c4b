#!/usr/bin/env bash
# npm run bench:train: this runtime's training step against PyTorch 1.13 on the CPU.
# Installs nothing; needs Debian's PyTorch with OpenBLAS (without OpenBLAS, PyTorch falls back
# to the reference BLAS and is ~30x slower, which would flatter this runtime).
set -euo pipefail
cd "$(dirname "$0")/../.."

source bench/require-torch.sh bench/train
if ! /sbin/ldconfig -p 2>/dev/null | grep -q libopenblas; then
  echo "warning: OpenBLAS not found; PyTorch will use the slow reference BLAS. Install libopenblas0-pthread." >&2
fi

exec npx tsx bench/train/bench.ts --write-results "$@"
