/**
 * `modelstack package model.onnx --task tensors`: seals an ONNX model this runtime did not train
 * (an export from PyTorch, a model from a hub) into a model.tar.gz that `modelstack serve`, the
 * container and the cloud pipeline serve like any other: model.onnx as it is, a model.json that
 * records the tensors the file declares, and MANIFEST.json with the digest.
 *
 * `modelstack package <folder> --task text-generation|text-classification|feature-extraction`:
 * the same for a pretrained Hugging Face model's Optimum ONNX export folder, checked for the task
 * (models/pretrained-export.ts) and served through its own tokenizer.json.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { MODEL_FORMAT, PACKAGED_ALGORITHM, PRETRAINED_TASKS, type PackagedModelDescription, type PretrainedModelDescription, type PretrainedTask } from '../../model-runtime/src/artifact/model-description.ts';
import { readPretrainedExport } from '../../model-runtime/src/models/pretrained-export.ts';
import { saveArtifact } from '../../model-runtime/src/artifact/save.ts';
import { createSession } from '../../model-runtime/src/engine/session.ts';
import { declaredTensors } from '../../model-runtime/src/serve/tensor-model.ts';
import { runtimeVersions } from '../../model-runtime/src/train/training-job.ts';
import { archivePath, displayPath, writeModelArchive } from './model-archive.ts';
import { tensorText } from './tensor-text.ts';

interface PackageOptions {
  readonly task: 'tensors';
  readonly name?: string;
  readonly output: string;
}

export function packageCommand(): Command {
  return new Command('package')
    .description('Seal an ONNX model trained elsewhere into a model.tar.gz that serves named tensors.')
    .argument('<model.onnx|folder>', 'the ONNX file (--task tensors), or the folder optimum-cli export onnx wrote (the other tasks); weights inside the ONNX file')
    .addOption(
      new Option('--task <task>', 'how requests address the model: tensors (named input tensors in, named outputs back), or a Hugging Face pipeline task')
        .choices(['tensors', ...PRETRAINED_TASKS])
        .makeOptionMandatory(),
    )
    .option('--name <name>', 'the name the model answers as (KServe v2 model_name); default: the file name without .onnx')
    .option('-o, --output <file>', 'where to write the model archive', 'model.tar.gz')
    .addHelpText('after', `
Example:
  $ modelstack package silero_vad.onnx --task tensors --output vad.tar.gz
  $ modelstack serve vad.tar.gz
  $ modelstack invoke vad --local http://127.0.0.1:8080 --body '{"inputs": {"input": {"shape": [1, 512], "data": [...]}, ...}}'
  $ optimum-cli export onnx --model distilbert-base-uncased-finetuned-sst-2-english --task text-classification sst2-onnx/
  $ modelstack package sst2-onnx --task text-classification -o sst2.tar.gz`)
    .action(async (file: string, options: PackageOptions | PretrainedPackageOptions) => {
      if (options.task !== 'tensors') {
        const packaged = await packagePretrainedModel(file, options);
        const d = packaged.description;
        process.stdout.write(`model: ${displayPath(packaged.archive)}\nsha256: ${packaged.sha256}\nmodel digest: ${packaged.digest}\n`);
        process.stdout.write(`${d.task}: ${d.modelType} from ${packaged.onnxFile}, ${d.contextLength} positions, ${d.tokenizer.vocabSize} tokens${d.labels === null ? '' : `, labels ${d.labels.join(', ')}`}\n`);
        return;
      }
      const packaged = await packageOnnxModel(file, options);
      process.stdout.write(`model: ${displayPath(packaged.archive)}\nsha256: ${packaged.sha256}\nmodel digest: ${packaged.digest}\n`);
      for (const [side, specs] of [['inputs', packaged.description.inputs], ['outputs', packaged.description.outputs]] as const) {
        process.stdout.write(`${side}: ${specs.map(tensorText).join('; ')}\n`);
      }
    });
}

export interface PackagedModel {
  readonly archive: string;
  readonly sha256: string;
  readonly digest: string;
  readonly description: PackagedModelDescription;
}

export interface PretrainedPackageOptions {
  readonly task: PretrainedTask;
  readonly output: string;
}

export interface PackagedPretrainedModel {
  readonly archive: string;
  readonly sha256: string;
  readonly digest: string;
  readonly description: PretrainedModelDescription;
  /** The export's ONNX file that became model.onnx. */
  readonly onnxFile: string;
}

/** Checks a Hugging Face ONNX export folder for the task and seals it as a trained model is sealed. */
export async function packagePretrainedModel(folder: string, options: PretrainedPackageOptions): Promise<PackagedPretrainedModel> {
  const archive = await archivePath(options.output);
  const exported = await readPretrainedExport(folder, options.task, await runtimeVersions());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelstack-package-'));
  try {
    const manifest = await saveArtifact(dir, exported.content, exported.description);
    const sha256 = await writeModelArchive(dir, archive);
    return { archive, sha256, digest: manifest.digest, description: exported.description, onnxFile: exported.onnxFile };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
