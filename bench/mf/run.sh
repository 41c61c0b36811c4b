#!/usr/bin/env bash
# npm run bench:mf: the matrix factorization training step (5000 users x 2000 items, the
# algorithm's defaults) against PyTorch 1.13 on the CPU. Installs nothing; needs Debian's PyTorch with OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "bench/mf needs PyTorch for /usr/bin/python3. Install it with:" >&2
  echo "  sudo apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 2
fi

exec npx tsx bench/mf/bench.ts --write-results "$@"
