#!/usr/bin/env bash
# npm run bench:transformers: GPT-2 small generation and BERT-base classification against
# PyTorch 1.13 on the CPU. Installs nothing; needs Debian's PyTorch with OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/../.."

source bench/require-torch.sh bench/transformers

exec npx tsx bench/transformers/bench.ts --write-results "$@"
