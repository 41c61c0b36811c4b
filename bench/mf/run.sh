#!/usr/bin/env bash
# npm run bench:mf: the matrix factorization training step (5000 users x 2000 items, the
# algorithm's defaults) against PyTorch 1.13 on the CPU. Installs nothing; needs Debian's PyTorch with OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/../.."

source bench/require-torch.sh bench/mf

exec npx tsx bench/mf/bench.ts --write-results "$@"
