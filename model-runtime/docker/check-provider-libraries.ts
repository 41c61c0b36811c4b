/**
 * A build step of the gpu image: every ONNX Runtime provider library named on the command line
 * must be installed beside onnxruntime-node and every library it needs must resolve in this
 * image, or the build fails naming what is missing. (Otherwise the image builds, and a GPU
 * endpoint or training job finds out at start.) The NVIDIA driver's own libraries (libcuda,
 * libnvidia-*) are not checked: the container toolkit mounts them from the host at run time.
 *
 *   node --import tsx model-runtime/docker/check-provider-libraries.ts libonnxruntime_providers_cuda.so ...
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { onnxRuntimeBinDir, unresolvedLibraries } from '../src/engine/device.ts';

const DRIVER_LIBRARY = /^lib(cuda|nvidia-[\w-]+)\.so(\.\d+)*$/;

const libraries = process.argv.slice(2);
if (libraries.length === 0) {
  console.error('usage: check-provider-libraries.ts LIBRARY.so [...] (names in onnxruntime-node\'s bin folder, or paths)');
  process.exit(2);
}
let failed = false;
for (const name of libraries) {
  const file = name.includes('/') ? name : join(onnxRuntimeBinDir(), name);
  if (!existsSync(file)) {
    console.error(`check-provider-libraries: ${file} is not installed`);
    failed = true;
    continue;
  }
  const missing = unresolvedLibraries(file).filter((library) => !DRIVER_LIBRARY.test(library));
  if (missing.length > 0) {
    console.error(`check-provider-libraries: ${name} needs ${missing.join(', ')}, which do not resolve in this image`);
    failed = true;
  } else {
    console.log(`check-provider-libraries: ${name}: every library it needs resolves`);
  }
}
process.exit(failed ? 1 : 0);
