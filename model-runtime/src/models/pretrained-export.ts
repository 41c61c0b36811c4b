/**
 * Reads and checks a Hugging Face ONNX export folder (the layout `optimum-cli export onnx`
 * writes) for one task, and turns it into this runtime's artifact content and model.json.
 * Every check names the file and what it should hold, so a wrong folder fails at packaging:
 *
 * - the ONNX file: model.onnx (encoders; GPT-2 class decoders exported with --task
 *   text-generation-with-past), else decoder_model_merged.onnx, else decoder_with_past_model.onnx;
 *   weights inside it (no external .onnx_data);
 * - its inputs and outputs as the task needs them (PRETRAINED_CONTRACTS below), and no input the
 *   server would not know how to feed;
 * - config.json's sizes against the ONNX file's: layers, heads, head size, vocab_size, hidden
 *   size, num_labels against id2label and the logits' width;
 * - tokenizer.json loading in @huggingface/tokenizers, with no id past config.json's vocab_size;
 * - for text-generation, config.json's and generation_config.json's eos_token_id (one id or a
 *   list) and bos_token_id, and generation_config.json's request defaults, as serving will read
 *   them (generation-config.ts), so a wrong value fails here and not at the first request;
 * - for text-generation, the chat template (chat_template.jinja, else tokenizer_config.json's
 *   chat_template) parsing as Jinja, when the export has one (text/chat-template.ts).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { ArtifactContent } from '../artifact/save.ts';
import { MODEL_FORMAT, PRETRAINED_ALGORITHM, TOKENIZER_FILE, type ModelDescription, type PretrainedModelDescription, type PretrainedTask } from '../artifact/model-description.ts';
import { MODEL_ONNX_FILE } from '../artifact/files.ts';
import { createSession } from '../engine/session.ts';
import { CHAT_TEMPLATE_FILE, ChatTemplate } from '../text/chat-template.ts';
import { libraryVocabSize, loadLibraryTokenizer } from '../text/pretrained-tokenizer.ts';
import { USE_CACHE_BRANCH } from './generation-decoder.ts';
import { parseGenerationConfig } from './generation-config.ts';
import { CONFIG_FILE, GENERATION_CONFIG_FILE, parseDecoderConfig } from './gpt-config.ts';
import { ATTENTION_MASK, INPUT_IDS, LOGITS, POSITION_IDS, pastKeyName, pastValueName, presentKeyName, presentValueName } from './gpt.ts';

export const TOKEN_TYPE_IDS = 'token_type_ids';
export const LAST_HIDDEN_STATE = 'last_hidden_state';
/** What Optimum names the token vectors when it exports a sentence-transformers model (--library-name sentence_transformers). */
export const TOKEN_EMBEDDINGS = 'token_embeddings';
/** The outputs a feature-extraction export may give its token vectors under, the first present taken. */
export const HIDDEN_STATE_OUTPUTS = [LAST_HIDDEN_STATE, TOKEN_EMBEDDINGS] as const;

/** The output a feature-extraction model's token vectors come from: last_hidden_state, else token_embeddings. */
export function hiddenStateOutput(outputNames: readonly string[]): string {
  return HIDDEN_STATE_OUTPUTS.find((name) => outputNames.includes(name)) ?? LAST_HIDDEN_STATE;
}
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const SPECIAL_TOKENS_MAP_FILE = 'special_tokens_map.json';

/** The ONNX files a task's export may hold, in the order they are taken. */
const ONNX_FILES: Readonly<Record<PretrainedTask, readonly string[]>> = {
  'text-generation': ['model.onnx', 'decoder_model_merged.onnx', 'decoder_with_past_model.onnx'],
  'text-classification': ['model.onnx'],
  'feature-extraction': ['model.onnx'],
};

/** The export's JSON files kept in the package when present (config.json must be). */
const OPTIONAL_FILES = [TOKENIZER_CONFIG_FILE, GENERATION_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, CHAT_TEMPLATE_FILE] as const;

/** A folder that is not a usable export for the task: the message names what and why. */
export class PretrainedExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PretrainedExportError';
  }
}

export interface PretrainedExport {
  /** The files to seal, model.onnx among them (the export's ONNX file under this runtime's name). */
  readonly content: ArtifactContent;
  readonly description: PretrainedModelDescription;
  /** The export's ONNX file that became model.onnx. */
  readonly onnxFile: string;
}

/** Reads `folder` as an export for `task` and checks it (file comment); `versions` go into model.json. */
export async function readPretrainedExport(folder: string, task: PretrainedTask, versions: ModelDescription['versions']): Promise<PretrainedExport> {
  const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    throw new PretrainedExportError(`cannot read the export folder ${folder}: ${error.code === 'ENOENT' ? 'no such folder' : error.code === 'ENOTDIR' ? 'not a folder (pass the folder optimum-cli wrote, or a .onnx file with --task tensors)' : error.message}`);
  });
  const onnxFile = ONNX_FILES[task].find((name) => names.includes(name));
  if (onnxFile === undefined) throw new PretrainedExportError(`${folder} has no ${ONNX_FILES[task].join(' or ')}: export the model with optimum-cli export onnx --task ${task === 'text-generation' ? 'text-generation-with-past' : task}`);
  const external = names.filter((name) => name.endsWith('.onnx_data') || name.endsWith('.onnx.data'));
  if (external.length > 0) throw new PretrainedExportError(`${folder} keeps weights outside the ONNX file (${external.join(', ')}); this runtime reads one self-contained file: models over 2 GB are for the LMI engine`);
  for (const needed of [CONFIG_FILE, TOKENIZER_FILE]) {
    if (!names.includes(needed)) throw new PretrainedExportError(`${folder} has no ${needed}; optimum-cli writes it beside ${onnxFile} (for tokenizer.json the model needs a fast tokenizer)`);
  }
  const read = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(path.join(folder, name)));
  const onnx = await read(onnxFile);
  const files: Record<string, Uint8Array> = { [MODEL_ONNX_FILE]: onnx, [CONFIG_FILE]: await read(CONFIG_FILE), [TOKENIZER_FILE]: await read(TOKENIZER_FILE) };
  for (const name of OPTIONAL_FILES) if (names.includes(name)) files[name] = await read(name);
  const text = (name: string): string | null => (files[name] === undefined ? null : new TextDecoder().decode(files[name]));

  const config = parseConfig(text(CONFIG_FILE)!, path.join(folder, CONFIG_FILE));
  const library = (() => {
    try {
      return loadLibraryTokenizer({ tokenizerJson: text(TOKENIZER_FILE)!, tokenizerConfigJson: text(TOKENIZER_CONFIG_FILE), source: folder });
    } catch (error) {
      throw new PretrainedExportError((error as Error).message);
    }
  })();
  const tokenizerVocab = libraryVocabSize(library);
  if (task === 'text-generation') {
    try {
      ChatTemplate.fromFiles({ chatTemplateJinja: text(CHAT_TEMPLATE_FILE), tokenizerConfigJson: text(TOKENIZER_CONFIG_FILE), source: folder });
    } catch (error) {
      throw new PretrainedExportError((error as Error).message);
    }
  }
  const vocabSize = positiveInteger(config, ['vocab_size'], `${folder}/${CONFIG_FILE}`);
  if (tokenizerVocab > vocabSize) throw new PretrainedExportError(`${folder}: tokenizer.json has ids up to ${tokenizerVocab - 1}, past config.json's vocab_size ${vocabSize}: the tokenizer is not this model's`);

  const session = await createSession(onnx, { device: 'cpu', intraOpNumThreads: 1 }).catch((error: Error) => {
    throw new PretrainedExportError(`${folder}/${onnxFile} is not an ONNX model this runtime can load: ${error.message.split('\n')[0]}`);
  });
  let checked: TaskFields;
  try {
    checked = task === 'text-generation' ? checkDecoder(session, text(CONFIG_FILE)!, text(GENERATION_CONFIG_FILE), folder, onnxFile) : checkEncoder(session, task, config, `${folder}/${CONFIG_FILE}`, onnxFile);
  } finally {
    await session.release();
  }
  const positions = checked.positions;
  const maxLength = modelMaxLength(text(TOKENIZER_CONFIG_FILE));
  const description: PretrainedModelDescription = {
    format: MODEL_FORMAT,
    algorithm: PRETRAINED_ALGORITHM,
    task,
    modelType: typeof config.model_type === 'string' ? config.model_type : 'unknown',
    contextLength: maxLength === null ? positions : Math.min(positions, maxLength),
    tokenizer: { file: TOKENIZER_FILE, kind: 'huggingface', vocabSize: tokenizerVocab },
    exportFiles: Object.keys(files).filter((name) => name !== MODEL_ONNX_FILE && name !== TOKENIZER_FILE).sort(),
    labels: checked.labels,
    scores: checked.scores,
    hiddenSize: checked.hiddenSize,
    hyperparameters: {},
    metrics: {},
    versions,
  };
  return { content: files, description, onnxFile };
}

type TaskFields = Pick<PretrainedModelDescription, 'labels' | 'scores' | 'hiddenSize'> & { readonly positions: number };

/** A GPT-2 class decoder with past key values, its sizes as config.json says; generation_config.json, when there, readable. */
function checkDecoder(session: ort.InferenceSession, configText: string, generationConfigText: string | null, folder: string, onnxFile: string): TaskFields {
  let decoder;
  try {
    decoder = parseDecoderConfig(configText, `${folder}/${CONFIG_FILE}`);
    if (generationConfigText !== null) parseGenerationConfig(generationConfigText, `${folder}/${GENERATION_CONFIG_FILE}`, decoder.vocabSize);
  } catch (error) {
    throw new PretrainedExportError((error as Error).message);
  }
  const { nLayer, nHead, nEmbd, vocabSize, contextLength } = decoder;
  const layers = Array.from({ length: nLayer }, (_, i) => i);
  const inputs = [INPUT_IDS, ATTENTION_MASK, ...layers.flatMap((i) => [pastKeyName(i), pastValueName(i)])];
  const outputs = [LOGITS, ...layers.flatMap((i) => [presentKeyName(i), presentValueName(i)])];
  checkNames(session, inputs, outputs, [POSITION_IDS, USE_CACHE_BRANCH], onnxFile, `text-generation with past_key_values for config.json's ${nLayer} layers`);
  const headDim = nEmbd / nHead;
  for (const name of layers.flatMap((i) => [pastKeyName(i), pastValueName(i)])) {
    checkDims(session.inputMetadata, name, { 1: nHead, 3: headDim }, onnxFile, `(batch, ${nHead} heads, past, ${headDim}) from config.json's heads and width`);
  }
  checkDims(session.outputMetadata, LOGITS, { 2: vocabSize }, onnxFile, `(batch, sequence, ${vocabSize}) from config.json's vocab_size`);
  return { labels: null, scores: null, hiddenSize: null, positions: contextLength };
}

/** A BERT class encoder: input_ids, attention_mask [, token_type_ids] -> logits or last_hidden_state. */
function checkEncoder(session: ort.InferenceSession, task: Exclude<PretrainedTask, 'text-generation'>, config: Record<string, unknown>, configSource: string, onnxFile: string): TaskFields {
  const positions = positiveInteger(config, ['max_position_embeddings', 'n_positions'], configSource);
  const hiddenSize = positiveInteger(config, ['hidden_size', 'd_model', 'dim', 'n_embd'], configSource);
  const output = task === 'text-classification' ? LOGITS : hiddenStateOutput(session.outputNames);
  checkNames(session, [INPUT_IDS, ATTENTION_MASK], [output], [TOKEN_TYPE_IDS], onnxFile, task);
  if (task === 'feature-extraction') {
    checkDims(session.outputMetadata, output, { 2: hiddenSize }, onnxFile, `(batch, sequence, ${hiddenSize}) from config.json's hidden_size`);
    return { labels: null, scores: null, hiddenSize, positions };
  }
  const labels = id2label(config, configSource);
  if (config.num_labels !== undefined && config.num_labels !== labels.length) {
    throw new PretrainedExportError(`${configSource}: num_labels is ${JSON.stringify(config.num_labels)} but id2label names ${labels.length} labels`);
  }
  checkDims(session.outputMetadata, LOGITS, { 1: labels.length }, onnxFile, `(batch, ${labels.length}), one score per label of config.json's id2label`);
  const problem = config.problem_type;
  if (problem !== undefined && problem !== null && problem !== 'single_label_classification' && problem !== 'multi_label_classification') {
    throw new PretrainedExportError(`${configSource}: problem_type ${JSON.stringify(problem)} is not a classification (single_label_classification or multi_label_classification)`);
  }
  return { labels, scores: problem === 'multi_label_classification' ? 'sigmoid' : 'softmax', hiddenSize: null, positions };
}

/** The inputs and outputs the task needs are there, and every other input is one the server feeds. */
function checkNames(session: ort.InferenceSession, inputs: readonly string[], outputs: readonly string[], optionalInputs: readonly string[], onnxFile: string, what: string): void {
  const missingInputs = inputs.filter((n) => !session.inputNames.includes(n));
  const missingOutputs = outputs.filter((n) => !session.outputNames.includes(n));
  if (missingInputs.length > 0 || missingOutputs.length > 0) {
    throw new PretrainedExportError(
      `${onnxFile} is not a ${what} export: ${[missingInputs.length > 0 ? `no input ${missingInputs.join(', ')}` : '', missingOutputs.length > 0 ? `no output ${missingOutputs.join(', ')}` : ''].filter(Boolean).join('; ')} (it has inputs ${session.inputNames.join(', ')}; outputs ${session.outputNames.join(', ')})`,
    );
  }
  const unknown = session.inputNames.filter((n) => !inputs.includes(n) && !optionalInputs.includes(n));
  if (unknown.length > 0) throw new PretrainedExportError(`${onnxFile} has inputs this runtime cannot feed for ${what}: ${unknown.join(', ')} (it feeds ${[...inputs, ...optionalInputs].join(', ')})`);
}

/** Fixed sizes the file declares at the given axes must be these (symbolic ones pass). */
function checkDims(metadata: readonly ort.InferenceSession.ValueMetadata[], name: string, expected: Readonly<Record<number, number>>, onnxFile: string, shape: string): void {
  const m = metadata.find((v) => v.name === name);
  if (m === undefined || !m.isTensor) throw new PretrainedExportError(`${onnxFile}: ${name} is not a tensor`);
  for (const [axis, size] of Object.entries(expected)) {
    const declared = m.shape[Number(axis)];
    if (m.shape.length <= Number(axis) || (typeof declared === 'number' && declared !== size)) {
      throw new PretrainedExportError(`${onnxFile}: ${name} is (${m.shape.join(', ')}), but config.json makes it ${shape}: the ONNX file and config.json are not one model`);
    }
  }
}

function parseConfig(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PretrainedExportError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PretrainedExportError(`${source} must be a JSON object (the model's PretrainedConfig)`);
  return value as Record<string, unknown>;
}

function positiveInteger(config: Record<string, unknown>, keys: readonly string[], source: string): number {
  const key = keys.find((k) => config[k] !== undefined);
  const v = key === undefined ? undefined : config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new PretrainedExportError(`${source}: ${keys.join(' or ')} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** id2label's names in id order; its keys must be 0 .. K-1. */
function id2label(config: Record<string, unknown>, source: string): string[] {
  const map = config.id2label;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new PretrainedExportError(`${source} has no id2label: a text-classification export names its labels there ({"0": "NEGATIVE", "1": "POSITIVE"})`);
  const entries = Object.entries(map as Record<string, unknown>);
  const labels: string[] = [];
  for (let id = 0; id < entries.length; id++) {
    const label = (map as Record<string, unknown>)[String(id)];
    if (typeof label !== 'string') throw new PretrainedExportError(`${source}: id2label must map every id 0..${entries.length - 1} to a label name; id ${id} maps to ${JSON.stringify(label)}`);
    labels.push(label);
  }
  if (labels.length === 0) throw new PretrainedExportError(`${source}: id2label is empty`);
  return labels;
}

/** tokenizer_config.json's model_max_length when it is a real bound (transformers writes 1e30 for "none"). */
function modelMaxLength(text: string | null): number | null {
  if (text === null) return null;
  try {
    const value = (JSON.parse(text) as { model_max_length?: unknown }).model_max_length;
    return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 1e9 ? value : null;
  } catch {
    return null; // loadLibraryTokenizer has already refused a tokenizer_config.json that is not JSON
  }
}
