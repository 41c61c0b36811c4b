/**
 * A loaded, verified model ready for forward passes: the ONNX Runtime session over model.onnx
 * plus what model.json says about its rows and outputs: a decoder for the features going in and
 * an interpreter for the output tensor coming out.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { loadArtifact, type LoadedArtifact } from '../artifact/load.ts';
import { createSession } from '../engine/session.ts';
import { INFERENCE_INPUT, INFERENCE_OUTPUT, isTabularDescription, type TabularModelDescription } from '../artifact/model-description.ts';
import type { Manifest } from '../artifact/digest.ts';
import { FeatureDecoder } from './feature-decoder.ts';
import { outputInterpreter, type OutputInterpreter } from './predictions.ts';

export interface InferenceModelOptions {
  /**
   * ONNX Runtime intra-op threads per session.
   * @default available cores / worker processes, at least 1
   */
  readonly threads?: number;
  /**
   * The sealed manifest digest (MODEL_RUNTIME_EXPECTED_DIGEST): any other is refused.
   * @default not checked
   */
  readonly expectedDigest?: string | null;
}

export class InferenceModel {
  /** How many ONNX Runtime runs this model has made; batching makes it smaller than the request count. */
  runs = 0;
  /** Request rows (arrays, or objects keyed by feature name) -> the (count, F) matrix model.onnx reads. */
  readonly featureDecoder: FeatureDecoder;
  /** The (count, width) output tensor -> predictions (numbers, or labels with probabilities). */
  readonly outputInterpreter: OutputInterpreter;

  private constructor(
    readonly description: TabularModelDescription,
    readonly manifest: Manifest,
    private readonly session: ort.InferenceSession,
  ) {
    this.featureDecoder = new FeatureDecoder(description.features);
    this.outputInterpreter = outputInterpreter(description);
  }

  /** Values per row of the output tensor (T for regression, K for classification). */
  get outputWidth(): number {
    return this.outputInterpreter.width;
  }

  /**
   * Verifies MANIFEST.json, and its digest against `expectedDigest` when given (throws
   * ArtifactIntegrityError naming each bad file, or both digests), then opens the
   * session on the engine's device: CUDA when a GPU and the CUDA provider are present (or
   * MODEL_RUNTIME_DEVICE says so), the CPU otherwise.
   */
  static async load(modelDir: string, options: InferenceModelOptions = {}): Promise<InferenceModel> {
    const artifact = await loadArtifact(modelDir, { expectedDigest: options.expectedDigest ?? null });
    if (!isTabularDescription(artifact.description)) {
      throw new Error(`model.json says algorithm ${artifact.description.algorithm}, which is not a tabular model; load it with serve/served-model.ts's loadServedModel`);
    }
    return InferenceModel.fromArtifact({ ...artifact, description: artifact.description }, options);
  }

  /** Opens the session over an artifact already verified. */
  static async fromArtifact(artifact: LoadedArtifact & { readonly description: TabularModelDescription }, options: Pick<InferenceModelOptions, 'threads'> = {}): Promise<InferenceModel> {
    const session = await createSession(artifact.onnx, {
      intraOpNumThreads: options.threads ?? Math.max(1, os.availableParallelism()),
    });
    try {
      checkContract(session, artifact.description);
    } catch (error) {
      await session.release();
      throw error;
    }
    return new InferenceModel(artifact.description, artifact.manifest, session);
  }

  /** One forward pass over `count` rows: features (count, F) -> output (count, width). */
  async predict(features: Float32Array, count: number): Promise<Float32Array> {
    this.runs += 1;
    const input = new ort.Tensor('float32', features, [count, this.description.features.length]);
    const results = await this.session.run({ [INFERENCE_INPUT]: input }, [INFERENCE_OUTPUT]);
    const output = results[INFERENCE_OUTPUT]!;
    return output.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * model.onnx must read `features` (N, F) with F = model.json's feature count and write `output`:
 * a mismatch found here fails /ping with the reason, where it would otherwise be a 500 on every request.
 */
function checkContract(session: ort.InferenceSession, description: TabularModelDescription): void {
  for (const [names, name, what] of [
    [session.inputNames, INFERENCE_INPUT, 'input'],
    [session.outputNames, INFERENCE_OUTPUT, 'output'],
  ] as const) {
    if (!names.includes(name)) {
      throw new Error(`model.onnx has no ${what} named '${name}' (it has ${names.join(', ')}); see artifact/model-description.ts`);
    }
  }
  const input = session.inputMetadata[session.inputNames.indexOf(INFERENCE_INPUT)];
  const width = input?.isTensor ? input.shape[1] : undefined;
  const features = description.features;
  if (typeof width === 'number' && width !== features.length) {
    throw new Error(
      `model.onnx input '${INFERENCE_INPUT}' takes ${width} values per row, but model.json lists ${features.length} features (${features.join(', ')})`,
    );
  }
}
