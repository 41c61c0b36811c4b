import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { RuntimeImage, type RuntimeImageProps } from '../../lib/runtime-image.ts';
import { testApp } from '../helpers/cdk.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DOCKERFILE = fs.readFileSync(path.join(ROOT, 'model-runtime', 'Dockerfile'), 'utf8');

/** A copy of the files the image is built from, in a temporary build context. */
const contexts: string[] = [];
afterAll(() => {
  for (const dir of contexts) fs.rmSync(dir, { recursive: true, force: true });
});

function buildContext(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelstack-image-'));
  contexts.push(dir);
  for (const file of ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'model-runtime/package.json', 'model-runtime/Dockerfile', 'model-runtime/Dockerfile.dockerignore']) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  write(dir, 'model-runtime/src/main.ts', 'export const main = 1;\n');
  write(dir, 'model-runtime/bin/model-runtime', '#!/usr/bin/env node\n');
  return dir;
}

function write(dir: string, file: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
}

function assetHash(props: RuntimeImageProps): string {
  return new RuntimeImage(new Stack(testApp(), 'Image'), 'Image', props).asset.assetHash;
}

describe('RuntimeImage', () => {
  it('hashes only what the image is built from: node_modules, cdk.out, test, bench and .git do not count', () => {
    const dir = buildContext();
    const before = assetHash({ directory: dir });
    for (const file of ['node_modules/x/index.js', 'model-runtime/node_modules/y/index.js', 'cdk.out/manifest.json', 'test/a.test.ts', 'bench/run.sh', '.git/HEAD', 'model-runtime/test/b.test.ts', 'README.md']) {
      write(dir, file, 'changed\n');
    }
    expect(assetHash({ directory: dir })).toBe(before);
    write(dir, 'model-runtime/src/main.ts', 'export const main = 2;\n');
    expect(assetHash({ directory: dir })).not.toBe(before);
  });

  it('builds the cpu and gpu flavours from their Dockerfile targets', () => {
    const dir = buildContext();
    expect(assetHash({ directory: dir, flavour: 'cpu' })).not.toBe(assetHash({ directory: dir, flavour: 'gpu' }));
    expect(DOCKERFILE).toMatch(/^FROM \$\{NODE_IMAGE\} AS node$/m);
    expect(DOCKERFILE).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(DOCKERFILE).toMatch(/^FROM node AS cpu$/m);
    // onnxruntime-node 1.30's CUDA provider (NuGet's Gpu.Linux 1.30.0) is built for CUDA 13 and cuDNN 9.
    expect(DOCKERFILE).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:13\.[0-9.]+-cudnn-runtime-ubuntu[0-9.]+$/m);
    expect(DOCKERFILE).toMatch(/^FROM \$\{CUDA_IMAGE\} AS gpu$/m);
    // What the install script reads (it ignores a string flag value such as cuda12).
    expect(DOCKERFILE).toMatch(/ONNXRUNTIME_NODE_INSTALL=1 npm ci/);
    expect(DOCKERFILE).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip npm ci/);
  });

  it('makes the gpu image use the GPU or fail: device cuda, its libraries checked at build, forward compatibility for older drivers', () => {
    const gpu = DOCKERFILE.slice(DOCKERFILE.indexOf('FROM ${CUDA_IMAGE} AS gpu'));
    expect(gpu).toMatch(/MODEL_RUNTIME_DEVICE=cuda/);
    expect(gpu).toMatch(/check-provider-libraries\.ts \\\n\s+libonnxruntime_providers_shared\.so libonnxruntime_providers_cuda\.so/);
    expect(gpu).toMatch(/^ENTRYPOINT \["cuda-compat-entrypoint", "model-runtime"\]$/m);
    // Each install is proven before the image is assembled: a silent npm failure fails the build.
    expect(DOCKERFILE.match(/install-check\.sh node_modules/g)).toHaveLength(2);
    expect(DOCKERFILE).toMatch(/install-check\.sh node_modules libonnxruntime_providers_cuda\.so/);
  });

  it("starts as SageMaker expects: exec-form entrypoint taking train or serve, port 8080, lockfile install", () => {
    // Shell-form would wrap the command in `sh -c` and swallow the `train` / `serve` argument.
    expect(DOCKERFILE.match(/^ENTRYPOINT \[("cuda-compat-entrypoint", )?"model-runtime"\]$/gm)).toHaveLength(2);
    expect(DOCKERFILE.match(/^EXPOSE 8080$/gm)).toHaveLength(2);
    expect(DOCKERFILE).toMatch(/npm ci --workspace model-runtime --omit=dev/);
    expect(DOCKERFILE).toMatch(/COPY package\.json package-lock\.json \.npmrc \.\//);
  });

  it('refuses a GPU image for arm64 and an unknown flavour, naming the prop', async () => {
    const { Platform } = await import('aws-cdk-lib/aws-ecr-assets');
    expect(() => assetHash({ flavour: 'gpu', platform: Platform.LINUX_ARM64 })).toThrow(/RuntimeImage\.platform: the gpu flavour is built for linux\/amd64 only/);
    expect(() => assetHash({ flavour: 'tpu' as never })).toThrow(/RuntimeImage\.flavour: must be one of cpu, gpu, got "tpu"/);
  });
});
