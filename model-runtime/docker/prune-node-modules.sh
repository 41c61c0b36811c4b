#!/bin/sh
# Drops from an installed node_modules what the runtime never reads: ONNX Runtime's binaries
# for other systems and the other architecture (25-45 MB each), type declarations, source
# maps and docs. Run after `npm ci`, before install-check.sh proves what is left still loads.
#
#   prune-node-modules.sh NODE_MODULES
set -eu
modules=$1
arch=$(node -p process.arch)
for dir in "$modules"/onnxruntime-node/bin/napi-v*/*/*; do
  case "$dir" in */linux/"$arch") ;; *) rm -rf "$dir" ;; esac
done
find "$modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' -o -name '*.markdown' \) -delete
