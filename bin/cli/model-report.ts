/**
 * What `modelstack inspect` says about a model folder: its seal (verified exactly as serving
 * verifies it, by loadArtifact), what model.json describes, how to call it, and its sizes.
 * The object is `inspect --json`'s output; its keys are documented in inspect.ts's help.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { loadArtifact } from '../../model-runtime/src/artifact/load.ts';
import { MANIFEST_FILE } from '../../model-runtime/src/artifact/digest.ts';
import { MODEL_ONNX_FILE } from '../../model-runtime/src/artifact/files.ts';
import { PACKAGED_ALGORITHM, PRETRAINED_ALGORITHM, type ModelDescription, type ServedAlgorithm, type TensorSpec } from '../../model-runtime/src/artifact/model-description.ts';
import { createSession } from '../../model-runtime/src/engine/session.ts';
import { servedContentTypes } from '../../model-runtime/src/serve/served-content-types.ts';
import { declaredTensors } from '../../model-runtime/src/serve/tensor-model.ts';
import { CHAT_TEMPLATE_FILE, ChatTemplate } from '../../model-runtime/src/text/chat-template.ts';

export interface ModelReport {
  /** The path given on the command line. */
  readonly model: string;
  /** Bytes of the model.tar.gz; null for a folder. */
  readonly archiveBytes: number | null;
  /** Always true in a report: a model that does not verify is an error (see inspect.ts). */
  readonly verified: true;
  readonly digest: string;
  /** --expected-digest (lowercased), or null; digestMatches is null without it. */
  readonly expectedDigest: string | null;
  readonly digestMatches: boolean | null;
  /** MANIFEST.json's createdAt, or null in manifests written before it was recorded. */
  readonly createdAt: string | null;
  readonly algorithm: ServedAlgorithm;
  /** regression, binary, multiclass, tensors, a Hugging Face task; null for a language model. */
  readonly task: string | null;
  /** Class names in class-id order; null where the model has none. */
  readonly labels: readonly string[] | null;
  /** Tabular models: feature columns in input order and the target columns; null otherwise. */
  readonly features: readonly string[] | null;
  readonly targets: readonly string[] | null;
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  /** Packaged models: the files they were sealed from (as named in the archive); null for a trained model. */
  readonly sourceFiles: readonly string[] | null;
  readonly contentTypes: { readonly requests: readonly string[]; readonly responses: readonly string[] };
  /** A text-generation export's chat template: the file it is read from (chat requests take OpenAI messages); null without one. */
  readonly chatTemplate: string | null;
  /** model.onnx's graph inputs and outputs as ONNX Runtime reads them. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Every file in the folder, MANIFEST.json included, by name. */
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
  readonly totalBytes: number;
  readonly versions: ModelDescription['versions'];
}

export interface ReportOptions {
  readonly source: string;
  /** The .tar.gz the folder was extracted from, or null when a folder was given. */
  readonly archive: string | null;
  readonly expectedDigest: string | null;
}

/** Verifies the folder and reads its report; throws ArtifactIntegrityError when it does not verify. */
export async function modelReport(dir: string, options: ReportOptions): Promise<ModelReport> {
  // Not loadArtifact's own expectedDigest: a mismatch is still reported in full, then fails (inspect.ts).
  const artifact = await loadArtifact(dir);
  const d = artifact.description;
  const { inputs, outputs } = await graphTensors(artifact.onnx);
  const manifestBytes = (await stat(path.join(artifact.dir, MANIFEST_FILE))).size;
  const files = [{ name: MANIFEST_FILE, bytes: manifestBytes }, ...[...artifact.files].map(([name, bytes]) => ({ name, bytes: bytes.byteLength }))]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const contentTypes = servedContentTypes(d);
  return {
    model: options.source,
    archiveBytes: options.archive === null ? null : (await stat(options.archive)).size,
    verified: true,
    digest: artifact.manifest.digest,
    expectedDigest: options.expectedDigest,
    digestMatches: options.expectedDigest === null ? null : options.expectedDigest === artifact.manifest.digest,
    createdAt: artifact.manifest.createdAt ?? null,
    algorithm: d.algorithm,
    task: 'task' in d ? d.task : null,
    labels: 'labels' in d ? d.labels : null,
    features: 'features' in d ? d.features : null,
    targets: 'targets' in d ? d.targets : null,
    hyperparameters: d.hyperparameters,
    metrics: d.metrics,
    sourceFiles: sourceFiles(d),
    contentTypes: { requests: contentTypes.requests, responses: contentTypes.responses },
    chatTemplate: chatTemplateFile(d, artifact.files),
    inputs,
    outputs,
    files,
    totalBytes: files.reduce((sum, file) => sum + file.bytes, 0),
    versions: d.versions,
  };
}

function chatTemplateFile(d: ModelDescription, files: ReadonlyMap<string, Uint8Array>): string | null {
  if (d.algorithm !== PRETRAINED_ALGORITHM || d.task !== 'text-generation') return null;
  const text = (name: string): string | null => {
    const bytes = files.get(name);
    return bytes === undefined ? null : new TextDecoder().decode(bytes);
  };
  // Serving parses the same files the same way, so a template that loads there is named here.
  return ChatTemplate.fromFiles({ chatTemplateJinja: text(CHAT_TEMPLATE_FILE), tokenizerConfigJson: text('tokenizer_config.json'), source: '.' })?.file ?? null;
}

function sourceFiles(d: ModelDescription): readonly string[] | null {
  if (d.algorithm === PACKAGED_ALGORITHM) return [MODEL_ONNX_FILE];
  if (d.algorithm === PRETRAINED_ALGORITHM) return [MODEL_ONNX_FILE, d.tokenizer.file, ...d.exportFiles];
  return null;
}

/** The graph's declared tensors, from an ONNX Runtime session (what serving opens, so what it reads). */
async function graphTensors(onnx: Uint8Array): Promise<{ inputs: TensorSpec[]; outputs: TensorSpec[] }> {
  const session = await createSession(onnx, { device: 'cpu', intraOpNumThreads: 1, log: () => undefined });
  try {
    return { inputs: tensorSpecs(session.inputMetadata), outputs: tensorSpecs(session.outputMetadata) };
  } finally {
    await session.release();
  }
}

/** declaredTensors, except that a sequence or map (which it refuses) is listed with its kind rather than failing the report. */
function tensorSpecs(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => (m.isTensor ? declaredTensors([m])[0]! : { name: m.name, dtype: 'non-tensor', shape: [] }));
}
