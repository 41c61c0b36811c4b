/**
 * What a text classifier is asked, read from the request body, in the schemas its callers send:
 *
 *   application/json
 *     {"inputs": "text"}                     Hugging Face's inference schema (SageMaker's Hugging
 *     {"inputs": ["text", ...]}              Face containers), with optional "parameters":
 *     {"inputs": ..., "parameters": {"top_k": null | n, "truncation": true, "function_to_apply": "softmax" | "sigmoid" | "none"}}
 *                                            (a model trained here answers probabilities: softmax only)
 *     {"instances": ["text", ...]}           this runtime's schema; an instance may also be an
 *     {"instances": [{"text": ...}, ...]}    object holding the text under the model's text column
 *                                            (with "parameters" as above)
 *   application/jsonlines
 *     one instance per line: a JSON string, or an object with the text column
 *
 * Every mistake is a 400 naming the field and what would be right.
 */
import { badRequest, HttpError } from './http-error.ts';
import { JSON_LINES_TYPE, JSON_TYPE, type MediaType, type RequestMediaType } from './media-types.ts';
import { readsRequest, TEXT_CLASSIFICATION_CONTENT_TYPES } from './served-content-types.ts';

/** Inputs one request may carry: more is a 400 (split them, or use batch transform). */
export const MAX_INPUTS = 1024;

/** Which schema the request came in, so the answer goes back in the same one. */
export type RequestSchema = 'inputs-single' | 'inputs-list' | 'instances' | 'json-lines';

export interface ClassificationRequest {
  readonly schema: RequestSchema;
  readonly texts: readonly string[];
  /** Classes per answer, best first; null = every class. */
  readonly topK: number | null;
  /** false: an input longer than the context is refused rather than truncated. */
  readonly truncation: boolean;
  /** How logits become scores, as transformers' pipeline takes it; null = the model's own way. */
  readonly functionToApply: ScoreFunction | null;
}

/** transformers' ClassificationFunction: softmax over the classes, a sigmoid per class, or the logits as they are. */
export const SCORE_FUNCTIONS = ['softmax', 'sigmoid', 'none'] as const;
export type ScoreFunction = (typeof SCORE_FUNCTIONS)[number];

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A 415 for a body format the classifier does not read (before the answer's format is looked at). */
export function checkRequestType(type: RequestMediaType): asserts type is typeof JSON_TYPE | typeof JSON_LINES_TYPE {
  if (!readsRequest(TEXT_CLASSIFICATION_CONTENT_TYPES, type)) {
    throw new HttpError(415, 'UnsupportedMediaType', `a text classifier reads ${JSON_TYPE} ({"inputs": "text"} or {"instances": [...]}) or ${JSON_LINES_TYPE} (one text per line), not ${type}`);
  }
}

export function parseClassificationRequest(body: Uint8Array, type: MediaType, textColumn: string): ClassificationRequest {
  checkRequestType(type);
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    throw badRequest('the request body is not valid UTF-8; send the texts as UTF-8 JSON');
  }
  return type === JSON_TYPE ? fromJson(parseJson(text, 'body'), textColumn) : fromJsonLines(text, textColumn);
}

function fromJson(document: unknown, textColumn: string): ClassificationRequest {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw badRequest(`the body must be a JSON object: {"inputs": "text"}, {"inputs": ["text", ...]} or {"instances": ["text", ...]}; got ${describe(document)}`);
  }
  const request = document as Record<string, unknown>;
  const unknown = Object.keys(request).filter((key) => key !== 'inputs' && key !== 'instances' && key !== 'parameters');
  if (unknown.length > 0) throw badRequest(`unknown field ${JSON.stringify(unknown[0])} in the body; send "inputs" (or "instances") and optionally "parameters"`);
  const hasInputs = Object.hasOwn(request, 'inputs');
  const hasInstances = Object.hasOwn(request, 'instances');
  if (hasInputs === hasInstances) {
    throw badRequest(hasInputs ? 'send "inputs" or "instances", not both' : 'the body has no "inputs"; send {"inputs": "text"}, {"inputs": ["text", ...]} or {"instances": ["text", ...]}');
  }
  const { topK, truncation, functionToApply } = parameters(request.parameters);
  if (hasInputs) {
    const inputs = request.inputs;
    if (typeof inputs === 'string') return { schema: 'inputs-single', texts: [inputs], topK, truncation, functionToApply };
    if (!Array.isArray(inputs)) throw badRequest(`"inputs" must be a string or an array of strings; got ${describe(inputs)}`);
    return { schema: 'inputs-list', texts: checkedList(inputs, 'inputs', (item, where) => stringAt(item, where)), topK, truncation, functionToApply };
  }
  const instances = request.instances;
  if (!Array.isArray(instances)) throw badRequest(`"instances" must be an array of texts (or of objects with a "${textColumn}" key); got ${describe(instances)}`);
  return { schema: 'instances', texts: checkedList(instances, 'instances', (item, where) => instanceText(item, where, textColumn)), topK, truncation, functionToApply };
}

function fromJsonLines(text: string, textColumn: string): ClassificationRequest {
  const items: unknown[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    items.push(parseJson(line, `line ${index + 1}`));
    lines.push(index + 1);
  });
  const texts = checkedList(items, 'body', (item, _where, i) => instanceText(item, `line ${lines[i]}`, textColumn));
  return { schema: 'json-lines', texts, topK: 1, truncation: true, functionToApply: null };
}

function checkedList(items: readonly unknown[], what: string, read: (item: unknown, where: string, index: number) => string): string[] {
  if (items.length === 0) throw badRequest(`${what} is empty; send at least one text`);
  if (items.length > MAX_INPUTS) throw badRequest(`${what} holds ${items.length} texts; at most ${MAX_INPUTS} fit in one request: split them over several requests, or use batch transform`);
  return items.map((item, i) => read(item, `${what}[${i}]`, i));
}

function instanceText(item: unknown, where: string, textColumn: string): string {
  if (typeof item === 'string') return item;
  if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
    const record = item as Record<string, unknown>;
    if (!Object.hasOwn(record, textColumn)) throw badRequest(`${where} has no "${textColumn}" key (the model's text column); send {"${textColumn}": "..."} or the text itself`);
    return stringAt(record[textColumn], `${where}.${textColumn}`);
  }
  return stringAt(item, where);
}

function stringAt(item: unknown, where: string): string {
  if (typeof item !== 'string') throw badRequest(`${where} must be a string (the text to classify); got ${describe(item)}`);
  return item;
}

function parameters(value: unknown): Pick<ClassificationRequest, 'topK' | 'truncation' | 'functionToApply'> {
  if (value === undefined) return { topK: 1, truncation: true, functionToApply: null };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`"parameters" must be an object, e.g. {"top_k": null}; got ${describe(value)}`);
  const p = value as Record<string, unknown>;
  const known = ['top_k', 'truncation', 'function_to_apply'];
  const unknown = Object.keys(p).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw badRequest(`unknown parameter ${JSON.stringify(unknown[0])}; a text classifier takes ${known.join(', ')}`);
  let topK: number | null = 1;
  if (Object.hasOwn(p, 'top_k')) {
    const k = p.top_k;
    if (k === null) topK = null;
    else if (typeof k === 'number' && Number.isInteger(k) && k >= 1) topK = k;
    else throw badRequest(`parameters.top_k must be a whole number >= 1, or null for every class; got ${describe(k)}`);
  }
  let truncation = true;
  if (Object.hasOwn(p, 'truncation')) {
    if (typeof p.truncation !== 'boolean') throw badRequest(`parameters.truncation must be true or false; got ${describe(p.truncation)}`);
    truncation = p.truncation;
  }
  let functionToApply: ScoreFunction | null = null;
  if (Object.hasOwn(p, 'function_to_apply')) {
    const f = p.function_to_apply;
    if (typeof f !== 'string' || !(SCORE_FUNCTIONS as readonly string[]).includes(f)) throw badRequest(`parameters.function_to_apply must be one of ${SCORE_FUNCTIONS.map((x) => `"${x}"`).join(', ')}; got ${describe(f)}`);
    functionToApply = f as ScoreFunction;
  }
  return { topK, truncation, functionToApply };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
