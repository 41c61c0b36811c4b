/**
 * algorithm=matrix-factorization end to end: a low-rank rating matrix with biases is learned
 * from half of its entries to well under the spread of the ratings, through the SageMaker
 * contract (checkpoints: a stopped run resumes to the uninterrupted run's result), and served
 * over loopback HTTP: predicted ratings, top-k with exclude_seen, unknown users and items
 * answered from the biases with a flag, bad requests and bad data named.
 */
import { rm } from 'node:fs/promises';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecommenderDescription } from '../../model-runtime/src/artifact/model-description.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';
import { TrainingStopped } from '../../model-runtime/src/train/fit.ts';
import { runTraining } from '../../model-runtime/src/train/run.ts';
import type { TrainingResult } from '../../model-runtime/src/train/training-events.ts';
import { invoke, startLocalServer, type LocalServer } from '../serve/fixtures/local-server.ts';
import { makeTree } from '../runtime/train/tree.ts';

const USERS = 60;
const ITEMS = 40;

/** rating = 3 + b_u + b_i + p_u . q_i (rank 3) + noise 0.05, for about half of all pairs; CSV rating,user,item with a header. */
function lowRankRatings(seed: number): { csv: string; truth: (u: number, i: number) => number; rated: Set<string> } {
  const random = createRandom(seed);
  const gaussian = () => (random() + random() + random() - 1.5) * 1.4;
  const p = Array.from({ length: USERS }, () => [gaussian(), gaussian(), gaussian()]);
  const q = Array.from({ length: ITEMS }, () => [gaussian(), gaussian(), gaussian()]);
  const bu = Array.from({ length: USERS }, () => gaussian() * 0.5);
  const bi = Array.from({ length: ITEMS }, () => gaussian() * 0.5);
  const truth = (u: number, i: number) => 3 + bu[u]! + bi[i]! + 0.5 * p[u]!.reduce((s, v, k) => s + v * q[i]![k]!, 0);
  const lines = ['rating,user,item'];
  const rated = new Set<string>();
  for (let u = 0; u < USERS; u++) {
    for (let i = 0; i < ITEMS; i++) {
      if (random() < 0.5) continue;
      lines.push(`${(truth(u, i) + (random() - 0.5) * 0.1).toFixed(4)},user${u},item${i}`);
      rated.add(`user${u}/item${i}`);
    }
  }
  return { csv: `${lines.join('\n')}\n`, truth, rated };
}

const data = lowRankRatings(17);
const hyperparameters = { algorithm: 'matrix-factorization', embedding_dim: '8', epochs: '60', batch_size: '64', learning_rate: '0.02', regularization: '0.01', early_stopping_patience: '0', seed: '5' };
let trained: TrainingResult;
let modelDir: string;
let server: LocalServer;
let roots: string[] = [];

beforeAll(async () => {
  const paths = await makeTree(hyperparameters, { train: { 'ratings.csv': data.csv } });
  roots.push(paths.root);
  trained = await runTraining(paths, { onEvent: () => {} });
  modelDir = paths.model;
  server = await startLocalServer(modelDir);
  await server.server.ready;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

describe('matrix factorization training', () => {
  it('learns the held-out ratings to well under their spread', () => {
    const description = trained.description as RecommenderDescription;
    expect(description.algorithm).toBe('matrix-factorization');
    expect(description.users).toBe(USERS);
    expect(description.items).toBe(ITEMS);
    // The ratings' own standard deviation is about 1.3: predicting the mean scores that.
    expect(trained.description.metrics.validation_rmse).toBeLessThan(0.45);
  });

  it('resumes a stopped run from its checkpoint to the uninterrupted result', async () => {
    const hp = { ...hyperparameters, epochs: '6' };
    const whole = await makeTree(hp, { train: { 'ratings.csv': data.csv } });
    const interrupted = await makeTree(hp, { train: { 'ratings.csv': data.csv } });
    roots.push(whole.root, interrupted.root);
    const expected = await runTraining(whole, { onEvent: () => {} });
    const controller = new AbortController();
    const stopped = runTraining(interrupted, {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.kind === 'batch' && event.epoch === 3 && event.batch === 4) controller.abort();
      },
    });
    await expect(stopped).rejects.toBeInstanceOf(TrainingStopped);
    const resumed = await runTraining(interrupted, { onEvent: () => {} });
    expect(resumed.description.metrics).toEqual(expected.description.metrics);
    expect(resumed.manifest.digest).toBe(expected.manifest.digest);
  }, 120_000);

  it('names a rating that is not a number, with its file and line', async () => {
    const paths = await makeTree({ algorithm: 'matrix-factorization' }, { train: { 'ratings.csv': 'rating,user,item\n4,u1,i1\nfive,u2,i1\n' } });
    roots.push(paths.root);
    await expect(runTraining(paths, { onEvent: () => {} })).rejects.toThrow(/ratings\.csv line 3: rating "five" is not a number; the first column is the rating, then user, then item/);
  });

  it('refuses keys of other algorithms', async () => {
    const paths = await makeTree({ algorithm: 'matrix-factorization', hidden_sizes: '8' }, { train: { 'ratings.csv': data.csv } });
    roots.push(paths.root);
    await expect(runTraining(paths, { onEvent: () => {} })).rejects.toThrow(/hidden_sizes does not apply to algorithm=matrix-factorization/);
  });
});

describe('matrix factorization serving', () => {
  const post = async (body: unknown) => {
    const answer = await invoke(server.url, JSON.stringify(body));
    return { status: answer.status, body: answer.json() as Record<string, unknown> };
  };

  it('predicts unrated pairs close to the truth', async () => {
    const unrated: [number, number][] = [];
    for (let u = 0; u < USERS && unrated.length < 200; u++) for (let i = 0; i < ITEMS; i++) if (!data.rated.has(`user${u}/item${i}`)) unrated.push([u, i]);
    const { status, body } = await post({ instances: unrated.map(([u, i]) => ({ user: `user${u}`, item: `item${i}` })) });
    expect(status).toBe(200);
    const predictions = body.predictions as { rating: number; unknown?: string[] }[];
    const rmse = Math.sqrt(predictions.reduce((s, p, k) => s + (p.rating - data.truth(unrated[k]![0], unrated[k]![1])) ** 2, 0) / predictions.length);
    expect(rmse).toBeLessThan(0.5);
    expect(predictions.every((p) => p.unknown === undefined)).toBe(true);
  });

  it('answers unknown users and items from the biases, flagged, never a 5xx', async () => {
    const { status, body } = await post({ instances: [{ user: 'newcomer', item: 'item3' }, { user: 'user1', item: 'new-item' }, { user: 'nobody', item: 'nothing' }] });
    expect(status).toBe(200);
    const [a, b, c] = body.predictions as { rating: number; unknown: string[] }[];
    expect(a!.unknown).toEqual(['user']);
    expect(b!.unknown).toEqual(['item']);
    expect(c!.unknown).toEqual(['user', 'item']);
    expect(c!.rating).toBeCloseTo((trained.description as RecommenderDescription).globalMean, 4);
  });

  it('ranks a user\'s top-k items, leaving out what they rated when asked', async () => {
    const all = await post({ user: 'user7', top_k: ITEMS });
    const ranked = all.body.recommendations as { item: string; score: number }[];
    expect(ranked).toHaveLength(ITEMS);
    expect(ranked.map((r) => r.score)).toEqual([...ranked.map((r) => r.score)].sort((x, y) => y - x));
    const fresh = await post({ user: 'user7', top_k: 5, exclude_seen: true });
    const items = (fresh.body.recommendations as { item: string }[]).map((r) => r.item);
    expect(items).toHaveLength(5);
    expect(items.some((item) => data.rated.has(`user7/${item}`))).toBe(false);
    const stranger = await post({ user: 'stranger', top_k: 3 });
    expect(stranger.body.unknown_user).toBe(true);
    expect(stranger.body.recommendations).toHaveLength(3);
  });

  it('answers the AWS SDK\'s InvokeEndpoint the same way', async () => {
    const client = new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const body = JSON.stringify({ user: 'user3', top_k: 2 });
      const response = await client.send(new InvokeEndpointCommand({ EndpointName: 'mf', ContentType: 'application/json', Body: body }));
      const viaSdk = JSON.parse(new TextDecoder().decode(response.Body)) as unknown;
      expect(viaSdk).toEqual((await post({ user: 'user3', top_k: 2 })).body);
    } finally {
      client.destroy();
    }
  });

  it.each([
    [{ instances: [] }, /"instances" must be a non-empty list/],
    [{ instances: [{ user: 'user1' }] }, /instances\[0\]\.item must be a user or item id/],
    [{ instances: [{ user: null, item: 'item1' }] }, /instances\[0\]\.user must be a user or item id \(a string\), got null/],
    [{ user: 'user1', top_k: 0 }, /top_k must be a whole number from 1 to 40/],
    [{ user: 'user1', exclude_seen: 'yes' }, /exclude_seen must be true or false/],
    [{ user: 'user1', topk: 3 }, /unknown key "topk"/],
    [[1, 2], /the body must be \{"instances"/],
  ])('refuses %j with a 400 naming the problem', async (body, message) => {
    const { status, body: answer } = await post(body);
    expect(status).toBe(400);
    expect(answer.message).toMatch(message);
  });
});

