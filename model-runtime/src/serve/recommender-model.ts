/**
 * A matrix-factorization model served: predicted ratings for (user, item) pairs, and a user's
 * top-k items. Ids training never saw are not an error: an unknown user's rating is the item's
 * bias over the global mean (an unknown item's, the user's), flagged in the answer.
 *
 *   {"instances": [{"user": "u1", "item": "i9"}, ...]}
 *       -> {"predictions": [{"rating": 4.12}, {"rating": 3.61, "unknown": ["user"]}, ...]}
 *   {"user": "u1", "top_k": 10, "exclude_seen": true}
 *       -> {"user": "u1", "recommendations": [{"item": "i9", "score": 4.6}, ...]}   (+ "unknown_user": true)
 */
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { RecommenderDescription } from '../artifact/model-description.ts';
import { createSession } from '../engine/session.ts';
import { MF_ITEM, MF_PREDICTION, MF_USER } from '../models/matrix-factorization.ts';
import { parseJson } from './decode.ts';
import { HttpError, badRequest } from './http-error.ts';
import { JSON_TYPE } from './media-types.ts';
import { JSON_CONTENT_TYPES, readsRequest, writesResponse } from './served-content-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';

/** Pairs one request may ask for. */
export const MAX_RATING_INSTANCES = 10_000;

interface Interactions {
  readonly users: readonly string[];
  readonly items: readonly string[];
  /** Per user index, the item indices rated in training. */
  readonly rated: readonly (readonly number[])[];
}

export class RecommenderModel implements ServedModel {
  runs = 0;
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;

  private constructor(
    readonly description: RecommenderDescription,
    readonly manifest: Manifest,
    private readonly interactions: Interactions,
    private readonly session: ort.InferenceSession,
  ) {
    this.userIndex = new Map(interactions.users.map((id, i) => [id, i]));
    this.itemIndex = new Map(interactions.items.map((id, i) => [id, i]));
  }

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: RecommenderDescription }, options: ServedModelOptions): Promise<RecommenderModel> {
    const { description } = artifact;
    const bytes = artifact.files.get(description.interactionsFile);
    if (bytes === undefined) throw new Error(`the artifact has no ${description.interactionsFile}, which model.json names as its ids file`);
    const interactions = JSON.parse(new TextDecoder().decode(bytes)) as Interactions;
    if (interactions.users?.length !== description.users || interactions.items?.length !== description.items || interactions.rated?.length !== description.users) {
      throw new Error(`${description.interactionsFile} does not hold the ${description.users} users and ${description.items} items model.json counts`);
    }
    const session = await createSession(artifact.onnx, { intraOpNumThreads: options.threads });
    return new RecommenderModel(description, artifact.manifest, interactions, session);
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    if (!readsRequest(JSON_CONTENT_TYPES, request.contentType)) {
      throw new HttpError(415, 'UnsupportedMediaType', `a matrix-factorization model takes ${JSON_TYPE}: {"instances": [{"user": "u1", "item": "i9"}]} or {"user": "u1", "top_k": 10}`);
    }
    if (!writesResponse(JSON_CONTENT_TYPES, request.accept)) throw new HttpError(406, 'NotAcceptable', `a matrix-factorization model answers ${JSON_TYPE} only, not ${request.accept}`);
    const value = parseJson(Buffer.from(body).toString('utf8'), 'body');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest('the body must be {"instances": [{"user": "u1", "item": "i9"}, ...]} or {"user": "u1", "top_k": 10, "exclude_seen": true}');
    }
    const answer = 'instances' in value ? await this.rate((value as { instances: unknown }).instances) : await this.recommend(value as Record<string, unknown>);
    return { contentType: JSON_TYPE, body: JSON.stringify(answer.body), log: { rows: answer.rows } };
  }

  private async rate(instances: unknown): Promise<{ body: unknown; rows: number }> {
    if (!Array.isArray(instances) || instances.length === 0) throw badRequest('"instances" must be a non-empty list of {"user": "...", "item": "..."}');
    if (instances.length > MAX_RATING_INSTANCES) throw badRequest(`"instances" has ${instances.length} pairs; at most ${MAX_RATING_INSTANCES} per request`);
    const pairs = instances.map((instance: unknown, i) => {
      if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) throw badRequest(`instances[${i}] must be {"user": "...", "item": "..."}`);
      const record = instance as Record<string, unknown>;
      return { user: idOf(record.user, `instances[${i}].user`), item: idOf(record.item, `instances[${i}].item`) };
    });
    const users = pairs.map((p) => this.userIndex.get(p.user) ?? -1);
    const items = pairs.map((p) => this.itemIndex.get(p.item) ?? -1);
    const ratings = await this.predict(users, items);
    const predictions = pairs.map((_, i) => {
      const unknown = [...(users[i]! < 0 ? ['user'] : []), ...(items[i]! < 0 ? ['item'] : [])];
      return unknown.length === 0 ? { rating: ratings[i]! } : { rating: ratings[i]!, unknown };
    });
    return { body: { predictions }, rows: pairs.length };
  }

  private async recommend(request: Record<string, unknown>): Promise<{ body: unknown; rows: number }> {
    const unknownKeys = Object.keys(request).filter((k) => !['user', 'top_k', 'exclude_seen'].includes(k));
    if (unknownKeys.length > 0) throw badRequest(`unknown key${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `"${k}"`).join(', ')}; a top-k request has "user", "top_k" and "exclude_seen"`);
    const user = idOf(request.user, 'user');
    const topK = request.top_k ?? 10;
    const itemCount = this.interactions.items.length;
    if (!Number.isInteger(topK) || (topK as number) < 1) throw badRequest(`top_k must be a whole number from 1 to ${itemCount} (the items in training), got ${JSON.stringify(request.top_k)}`);
    const excludeSeen = request.exclude_seen ?? false;
    if (typeof excludeSeen !== 'boolean') throw badRequest(`exclude_seen must be true or false, got ${JSON.stringify(excludeSeen)}`);
    const u = this.userIndex.get(user) ?? -1;
    const scores = await this.predict(new Array<number>(itemCount).fill(u), Array.from({ length: itemCount }, (_, i) => i));
    const seen = new Set(excludeSeen && u >= 0 ? this.interactions.rated[u] : []);
    const ranked = [...scores.keys()].filter((i) => !seen.has(i)).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, topK as number);
    const recommendations = ranked.map((i) => ({ item: this.interactions.items[i]!, score: scores[i]! }));
    return { body: u < 0 ? { user, unknown_user: true, recommendations } : { user, recommendations }, rows: itemCount };
  }

  private async predict(users: readonly number[], items: readonly number[]): Promise<Float32Array> {
    this.runs += 1;
    const tensor = (values: readonly number[]) => new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
    const results = await this.session.run({ [MF_USER]: tensor(users), [MF_ITEM]: tensor(items) }, [MF_PREDICTION]);
    return results[MF_PREDICTION]!.data as Float32Array;
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** A user or item id: a string, or a number read as its text (ids in CSV training data are text). */
function idOf(value: unknown, where: string): string {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw badRequest(`${where} must be a user or item id (a string), got ${JSON.stringify(value)}`);
}
