/**
 * What a feature-extraction (embedding) model is asked, in the schema of Hugging Face's Text
 * Embeddings Inference, the container SageMaker serves embedding models with:
 *
 *   {"inputs": "text"} or {"inputs": ["text", ...]}
 *   "parameters": {
 *     "normalize": false,   true: each embedding scaled to unit length (for cosine similarity as a dot product)
 *     "pooling": "mean",    the mean of the token vectors under the attention mask (sentence-transformers'
 *                           mean pooling); "none": every token's vector (the pipeline's token level output)
 *     "truncation": true    false: a text longer than the model's positions is a 400 rather than cut
 *   }
 *
 * Every mistake is a 400 naming the field and what would be right.
 */
import { parseJson } from './decode.ts';
import { badRequest } from './http-error.ts';
import { MAX_INPUTS } from './text-classification-request.ts';

export type Pooling = 'mean' | 'none';

export interface FeatureExtractionRequest {
  readonly texts: readonly string[];
  readonly normalize: boolean;
  readonly pooling: Pooling;
  readonly truncation: boolean;
}

const PARAMETERS = ['normalize', 'pooling', 'truncation'];

export function parseFeatureExtractionRequest(text: string): FeatureExtractionRequest {
  const document = parseJson(text, 'body');
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw badRequest('the body must be a JSON object: {"inputs": "text"} or {"inputs": ["text", ...]}, with optional "parameters"');
  const request = document as Record<string, unknown>;
  const unknown = Object.keys(request).filter((key) => key !== 'inputs' && key !== 'parameters');
  if (unknown.length > 0) throw badRequest(`unknown field ${JSON.stringify(unknown[0])} in the body; send "inputs" and optionally "parameters"`);
  const inputs = request.inputs;
  let texts: string[];
  if (typeof inputs === 'string') texts = [inputs];
  else if (Array.isArray(inputs) && inputs.every((item) => typeof item === 'string')) texts = inputs as string[];
  else throw badRequest(`"inputs" must be a text or an array of texts; got ${inputs === undefined ? 'nothing' : JSON.stringify(inputs).slice(0, 40)}`);
  if (texts.length === 0) throw badRequest('"inputs" is empty; send at least one text');
  if (texts.length > MAX_INPUTS) throw badRequest(`"inputs" holds ${texts.length} texts; at most ${MAX_INPUTS} fit in one request`);

  const p = request.parameters ?? {};
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw badRequest('"parameters" must be an object, e.g. {"normalize": true}');
  const params = p as Record<string, unknown>;
  const extra = Object.keys(params).filter((key) => !PARAMETERS.includes(key));
  if (extra.length > 0) throw badRequest(`unknown parameter ${JSON.stringify(extra[0])}; a feature-extraction model takes ${PARAMETERS.join(', ')}`);
  const flag = (key: string, fallback: boolean): boolean => {
    const v = params[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw badRequest(`parameters.${key} must be true or false; got ${JSON.stringify(v)}`);
    return v;
  };
  const pooling = params.pooling ?? 'mean';
  if (pooling !== 'mean' && pooling !== 'none') throw badRequest(`parameters.pooling must be "mean" (one vector per text) or "none" (one per token); got ${JSON.stringify(pooling)}`);
  return { texts, normalize: flag('normalize', false), pooling, truncation: flag('truncation', true) };
}
