/**
 * `modelstack package model.onnx --task tensors`: seals an ONNX model this runtime did not train
 * (an export from PyTorch, a model from a hub) into a model.tar.gz that `modelstack serve`, the
 * container and the cloud pipeline serve like any other: model.onnx as it is, a model.json that
 * records the tensors the file declares, and MANIFEST.json with the digest.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { MODEL_FORMAT, PACKAGED_ALGORITHM, type PackagedModelDescription } from '../../model-runtime/src/artifact/model-description.ts';
import { saveArtifact } from '../../model-runtime/src/artifact/save.ts';
import { createSession } from '../../model-runtime/src/engine/session.ts';
import { declaredTensors } from '../../model-runtime/src/serve/tensor-model.ts';
import { runtimeVersions } from '../../model-runtime/src/train/training-job.ts';
import { archivePath, displayPath, writeModelArchive } from './model-archive.ts';

interface PackageOptions {
  readonly task: 'tensors';
  readonly name?: string;
  readonly output: string;
}

export function packageCommand(): Command {
  return new Command('package')
    .description('Seal an ONNX model trained elsewhere into a model.tar.gz that serves named tensors.')
    .argument('<model.onnx>', 'the ONNX file (weights inside it; external data files are not supported)')
    .addOption(new Option('--task <task>', 'how requests address the model: tensors (named input tensors in, named outputs back)').choices(['tensors']).makeOptionMandatory())
    .option('--name <name>', 'the name the model answers as (KServe v2 model_name); default: the file name without .onnx')
    .option('-o, --output <file>', 'where to write the model archive', 'model.tar.gz')
    .addHelpText('after', `
Example:
  $ modelstack package silero_vad.onnx --task tensors --output vad.tar.gz
  $ modelstack serve vad.tar.gz
  $ modelstack invoke vad --local http://127.0.0.1:8080 --body '{"inputs": {"input": {"shape": [1, 512], "data": [...]}, ...}}'`)
    .action(async (file: string, options: PackageOptions) => {
      const packaged = await packageOnnxModel(file, options);
      process.stdout.write(`model: ${displayPath(packaged.archive)}\nsha256: ${packaged.sha256}\nmodel digest: ${packaged.digest}\n`);
      for (const [side, specs] of [['inputs', packaged.description.inputs], ['outputs', packaged.description.outputs]] as const) {
        process.stdout.write(`${side}: ${specs.map((t) => `${t.name} ${t.dtype} (${t.shape.map((d) => (d === '' ? '?' : d)).join(', ')})`).join('; ')}\n`);
      }
    });
}

export interface PackagedModel {
  readonly archive: string;
  readonly sha256: string;
  readonly digest: string;
  readonly description: PackagedModelDescription;
}

export async function packageOnnxModel(file: string, options: PackageOptions): Promise<PackagedModel> {
  const archive = await archivePath(options.output);
  const onnx = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  // Opening a session is the check that this is an ONNX model ONNX Runtime can run.
  const session = await createSession(new Uint8Array(onnx), { device: 'cpu', intraOpNumThreads: 1 }).catch((error: Error) => {
    throw new Error(`${file} is not an ONNX model this runtime can load: ${error.message.split('\n')[0]}`);
  });
  let description: PackagedModelDescription;
  try {
    description = {
      format: MODEL_FORMAT,
      algorithm: PACKAGED_ALGORITHM,
      task: options.task,
      name: options.name ?? path.basename(file).replace(/\.onnx$/i, ''),
      inputs: declaredTensors(session.inputMetadata),
      outputs: declaredTensors(session.outputMetadata),
      hyperparameters: {},
      metrics: {},
      versions: await runtimeVersions(),
    };
  } catch (error) {
    throw new Error(`${file} cannot be served on named tensors: ${(error as Error).message}`);
  } finally {
    await session.release();
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelstack-package-'));
  try {
    const manifest = await saveArtifact(dir, { 'model.onnx': new Uint8Array(onnx) }, description);
    const sha256 = await writeModelArchive(dir, archive);
    return { archive, sha256, digest: manifest.digest, description };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
