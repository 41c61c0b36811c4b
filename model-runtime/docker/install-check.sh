#!/bin/sh
# Proves a `npm ci` of the runtime really installed it (npm has exited 0 with an empty
# node_modules): tsx and onnxruntime-node resolve, sharp's libvips binding loads, ONNX Runtime's native binding for this
# machine's architecture loads and lists the CPU backend, and each provider library named
# after the folder (e.g. libonnxruntime_providers_cuda.so) is in place.
#
#   install-check.sh NODE_MODULES [PROVIDER_LIBRARY ...]
set -eu
modules=$1
shift
cd "$(dirname "$modules")"
node --input-type=module -e "
  import { createRequire } from 'node:module';
  const require = createRequire(process.cwd() + '/');
  for (const name of ['tsx', 'onnxruntime-node', 'onnx-proto', 'csv-parse', 'commander', 'sharp', 'wavefile']) require.resolve(name);
  // sharp's libvips binding (@img/sharp-linux-<arch>, an optional dependency) must load: image models decode with it.
  const sharp = require('sharp');
  if (typeof sharp.versions?.vips !== 'string') throw new Error('sharp loaded without its libvips binding');
  const ort = await import('onnxruntime-node');
  const backends = ort.listSupportedBackends().map((b) => b.name);
  if (!backends.includes('cpu')) throw new Error('onnxruntime-node loaded without its CPU backend: ' + backends.join(', '));
  console.log('install-check: node ' + process.version + ' ' + process.arch + ', onnxruntime-node ' + ort.env.versions.node + ', backends ' + backends.join(', '));
"
bin="$modules/onnxruntime-node/bin/napi-v6/linux/$(node -p process.arch)"
for library in "$@"; do
  if [ ! -s "$bin/$library" ]; then
    echo "install-check: $bin/$library is missing: the install script did not fetch it (is ONNXRUNTIME_NODE_INSTALL=1 set, and is NuGet reachable?)" >&2
    exit 1
  fi
  echo "install-check: $library present"
done
