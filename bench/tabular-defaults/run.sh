#!/usr/bin/env bash
# npm run bench:defaults: this runtime's defaults against scikit-learn's on the data sets scikit-learn
# ships (nothing downloaded). Needs Debian's python3-sklearn for /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  echo "bench/tabular-defaults needs scikit-learn for /usr/bin/python3. Install it with:" >&2
  echo "  sudo apt-get install -y python3-sklearn" >&2
  exit 2
fi

exec npx tsx bench/tabular-defaults/bench.ts "$@"
