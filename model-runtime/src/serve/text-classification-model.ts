/**
 * A text classifier served: texts in (text-classification-request.ts), tokenized with the
 * model's own tokenizer.json, truncated to context_length, padded into (N, T) input_ids and
 * attention_mask, one ONNX Runtime run per chunk of inputs, class probabilities out, answered
 * as Hugging Face's text-classification pipeline answers:
 *
 *   {"inputs": "text"}                 [{"label": "sports", "score": 0.98}]
 *   {"inputs": ["a", "b"]}             [{"label": ..., "score": ...}, {"label": ..., "score": ...}]
 *   ... "parameters": {"top_k": null}  every class, best first: [{...}, {...}, ...] for one text,
 *                                      [[...], [...]] for a list
 *   {"instances": [...]}               {"predictions": [[{"label", "score"}, ...], ...]}
 *   JSON Lines                         one [{"label", "score"}, ...] line per text
 *
 * An input longer than context_length tokens is truncated (its first context_length tokens are
 * classified) and each of its entries says "truncated": true; with "truncation": false it is a 400.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import { TEXT_ATTENTION_MASK, TEXT_INPUT_IDS, TEXT_PROBABILITIES, type TextClassifierDescription } from '../artifact/model-description.ts';
import { padBatch } from '../data/text-classification-data.ts';
import { createSession } from '../engine/session.ts';
import { TokenizerError } from '../text/text-error.ts';
import { parseTokenizerJson } from '../text/tokenizer-json.ts';
import type { Tokenizer } from '../text/tokenizer.ts';
import { badRequest, HttpError } from './http-error.ts';
import { jsonNumber, jsonString } from './json-text.ts';
import { JSON_LINES_TYPE, JSON_TYPE } from './media-types.ts';
import { TEXT_CLASSIFICATION_CONTENT_TYPES, writesResponse } from './served-content-types.ts';
import { shortest } from './predictions.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';
import { checkRequestType, parseClassificationRequest, type ClassificationRequest } from './text-classification-request.ts';

/** Texts per ONNX Runtime run: a run pads to its longest text, so large chunks of mixed lengths waste work. */
const TEXTS_PER_RUN = 32;

export interface Scored {
  readonly label: string;
  readonly score: number;
}

/** One input's answer: its classes best first (top_k of them), and whether its text was cut. */
export interface Classification {
  readonly classes: readonly Scored[];
  readonly truncated: boolean;
}

export class TextClassificationModel implements ServedModel {
  runs = 0;

  private constructor(
    readonly description: TextClassifierDescription,
    readonly manifest: Manifest,
    private readonly tokenizer: Tokenizer,
    private readonly session: ort.InferenceSession,
  ) {}

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: TextClassifierDescription }, options: ServedModelOptions): Promise<TextClassificationModel> {
    const { description } = artifact;
    const tokenizerFile = artifact.files.get(description.tokenizer.file)!;
    const tokenizer = parseTokenizerJson(new TextDecoder().decode(tokenizerFile), description.tokenizer.file);
    if (tokenizer.vocabSize !== description.tokenizer.vocabSize) {
      throw new Error(`${description.tokenizer.file} holds ${tokenizer.vocabSize} tokens, but model.json says ${description.tokenizer.vocabSize}: the files are not from one training run`);
    }
    const session = await createSession(artifact.onnx, { intraOpNumThreads: options.threads ?? Math.max(1, os.availableParallelism()) });
    try {
      checkContract(session, description);
    } catch (error) {
      await session.release();
      throw error;
    }
    return new TextClassificationModel(description, artifact.manifest, tokenizer, session);
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    checkRequestType(request.contentType);
    if (!writesResponse(TEXT_CLASSIFICATION_CONTENT_TYPES, request.accept)) {
      throw new HttpError(406, 'NotAcceptable', `a text classifier answers in ${JSON_TYPE} or ${JSON_LINES_TYPE}, not ${request.accept}`);
    }
    const parsed = parseClassificationRequest(body, request.contentType, this.description.textColumn);
    if (parsed.functionToApply !== null && parsed.functionToApply !== 'softmax') {
      throw badRequest(`parameters.function_to_apply must be "softmax" (the scores are class probabilities); got ${JSON.stringify(parsed.functionToApply)}`);
    }
    const answers = await this.classify(parsed);
    return { contentType: request.accept, body: encodeAnswers(answers, parsed, request.accept), log: { rows: answers.length } };
  }

  close(): Promise<void> {
    return this.session.release();
  }

  private async classify(request: ClassificationRequest): Promise<Classification[]> {
    const { contextLength, padId, labels } = this.description;
    const encoded = request.texts.map((text, i) => {
      let ids: number[];
      try {
        ids = this.tokenizer.encode(text);
      } catch (error) {
        if (error instanceof TokenizerError) throw badRequest(`text ${i}: ${error.message}`);
        throw error;
      }
      if (ids.length > contextLength && !request.truncation) {
        throw badRequest(`text ${i} is ${ids.length} tokens long, over this model's context_length of ${contextLength}; shorten it, or leave parameters.truncation unset (true) to classify its first ${contextLength} tokens`);
      }
      return { ids: ids.slice(0, contextLength), truncated: ids.length > contextLength };
    });
    const k = Math.min(request.topK ?? labels.length, labels.length);
    const answers: Classification[] = [];
    for (let start = 0; start < encoded.length; start += TEXTS_PER_RUN) {
      const chunk = encoded.slice(start, start + TEXTS_PER_RUN);
      const batch = padBatch(chunk.map((e) => e.ids), new Int32Array(chunk.length), padId);
      const dims = [batch.size, batch.length];
      this.runs += 1;
      const results = await this.session.run(
        { [TEXT_INPUT_IDS]: new ort.Tensor('int64', batch.inputIds, dims), [TEXT_ATTENTION_MASK]: new ort.Tensor('int64', batch.attentionMask, dims) },
        [TEXT_PROBABILITIES],
      );
      const probabilities = results[TEXT_PROBABILITIES]!.data as Float32Array; // (n, K)
      chunk.forEach((e, row) => {
        const scored = labels.map((label, c) => ({ label, score: probabilities[row * labels.length + c]! }));
        // Best first; ties keep class order, so equal scores answer the same way every time.
        scored.sort((a, b) => b.score - a.score);
        answers.push({ classes: scored.slice(0, k), truncated: e.truncated });
      });
    }
    return answers;
  }
}

/** The answer in the request's schema (see the file comment), in the accepted format. */
export function encodeAnswers(answers: readonly Classification[], request: ClassificationRequest, accept: string): string {
  const list = (a: Classification): string => `[${a.classes.map((c) => scoredJson(c, a.truncated)).join(',')}]`;
  if (accept === JSON_LINES_TYPE) return answers.map((a) => `${list(a)}\n`).join('');
  switch (request.schema) {
    case 'inputs-single':
      return list(answers[0]!);
    case 'inputs-list':
      // As the pipeline: one entry per text at top_k 1, one list per text otherwise.
      return request.topK === 1 ? `[${answers.map((a) => scoredJson(a.classes[0]!, a.truncated)).join(',')}]` : `[${answers.map(list).join(',')}]`;
    case 'instances':
    case 'json-lines':
      return `{"predictions":[${answers.map(list).join(',')}]}`;
  }
}

function scoredJson(scored: Scored, truncated: boolean): string {
  return `{"label":${jsonString(scored.label)},"score":${jsonNumber(shortest(scored.score))}${truncated ? ',"truncated":true' : ''}}`;
}

/**
 * model.onnx must read input_ids and attention_mask and write probabilities with one column per
 * label: a mismatch found here fails /ping with the reason, not every request with a 500.
 */
function checkContract(session: ort.InferenceSession, description: TextClassifierDescription): void {
  for (const [names, name, what] of [
    [session.inputNames, TEXT_INPUT_IDS, 'input'],
    [session.inputNames, TEXT_ATTENTION_MASK, 'input'],
    [session.outputNames, TEXT_PROBABILITIES, 'output'],
  ] as const) {
    if (!names.includes(name)) throw new Error(`model.onnx has no ${what} named '${name}' (it has ${names.join(', ')}); see artifact/model-description.ts`);
  }
  const output = session.outputMetadata[session.outputNames.indexOf(TEXT_PROBABILITIES)];
  const width = output?.isTensor ? output.shape[1] : undefined;
  if (typeof width === 'number' && width !== description.labels.length) {
    throw new Error(`model.onnx writes ${width} probabilities per text, but model.json lists ${description.labels.length} labels (${description.labels.join(', ')})`);
  }
}
