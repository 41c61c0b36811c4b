#!/bin/sh
# The gpu image's entrypoint: runs its arguments (`model-runtime train|serve`), first putting
# CUDA's forward-compatibility libraries on the loader's path when the host's NVIDIA driver is
# older than the driver those libraries carry.
#
# Why: the image's CUDA 13 runtime needs driver 580+, and SageMaker's GPU hosts run older
# drivers (endpoints: 535 by default, 550 with InferenceAmiVersion al2-ami-sagemaker-inference-gpu-3-1,
# whose container toolkit does not mount CUDA's compat libraries itself). The base image's
# cuda-compat package (/usr/local/cuda/compat) bridges that on data-centre GPUs, which is what
# SageMaker's instance families have. AWS's own deep learning containers do the same at start.
#
# CUDA_COMPAT_DIR and NVIDIA_DRIVER_VERSION_FILE exist for tests; the defaults are the real paths.
set -eu
compat_dir=${CUDA_COMPAT_DIR:-/usr/local/cuda/compat}
version_file=${NVIDIA_DRIVER_VERSION_FILE:-/proc/driver/nvidia/version}

if [ -r "$version_file" ] && [ -d "$compat_dir" ]; then
  # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03  Tue Jun  6 22:20:39 UTC 2023"
  host=$(sed -n 's/.*Kernel Module[^0-9]*\([0-9][0-9]*\)\..*/\1/p' "$version_file" | head -n 1)
  # libcuda.so.580.95.05 -> 580
  compat=$(ls "$compat_dir" 2>/dev/null | sed -n 's/^libcuda\.so\.\([0-9][0-9]*\)\..*/\1/p' | head -n 1)
  if [ -n "$host" ] && [ -n "$compat" ] && [ "$host" -lt "$compat" ]; then
    export LD_LIBRARY_PATH="$compat_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "cuda-compat-entrypoint: NVIDIA driver $host is older than this image's CUDA needs ($compat): using CUDA forward compatibility ($compat_dir)" >&2
  fi
fi
exec "$@"
