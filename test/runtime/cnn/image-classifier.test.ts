/**
 * algorithm=image-classifier end to end on shapes drawn into PNGs: it learns them, saves and
 * loads, serves PNG, JPEG and JSON pixel bodies through /invocations and the AWS SDK, refuses
 * bad images with a named 4xx, reads a manifest, and resumes after a stop to the same model.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import type { ImageClassifierDescription } from '../../../model-runtime/src/artifact/model-description.ts';
import type { RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { encodeWav16 } from '../../../model-runtime/src/data/wav-decode.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import { expectResumedRunToMatch } from './stop-and-resume.ts';
import { trainAndServe, type TrainedServer } from './trained-server.ts';
import { makeTree } from '../train/tree.ts';
import { SHAPES, drawShape, shapeImage, writeShapeFolders } from './generated-data.ts';

const HP = { algorithm: 'image-classifier', image_size: '16', conv_widths: '8,16', dense_units: '32', epochs: '8', batch_size: '16', learning_rate: '0.003', validation_fraction: '0.2', seed: '1', top_k: '2' };

let trained: TrainedServer;

beforeAll(async () => {
  trained = await trainAndServe(HP, (dir) => writeShapeFolders(dir, 40, 16, 3, 1));
}, 120_000);

afterAll(() => trained?.close());

const post = (body: Uint8Array | string, contentType: string, accept?: string) => trained.post(body, contentType, accept);

describe('image-classifier', () => {
  it('learns bar, disc and ring from class folders to at least 90% validation accuracy, with a confusion matrix', async () => {
    expect(trained.result.description.metrics.validation_accuracy).toBeGreaterThanOrEqual(0.9);
    const loaded = await loadArtifact(trained.paths.model);
    const description = loaded.description as ImageClassifierDescription;
    expect(description).toMatchObject({ algorithm: 'image-classifier', task: 'multiclass', labels: [...SHAPES], topK: 2, image: { height: 16, width: 16, channels: 3 } });
    expect(description.image.channelMean).toHaveLength(3);
    const report = trained.result.validationReport!;
    expect(report.labels).toEqual([...SHAPES]);
    expect(report.support).toEqual([8, 8, 8]);
    const diagonal = report.matrix.reduce((sum, row, i) => sum + row[i]!, 0);
    expect(diagonal / 24).toBe(trained.result.description.metrics.validation_accuracy);
    expect(report.recall.every((r) => r !== null && r >= 0.75)).toBe(true);
  });

  it('answers PNG, JPEG and JSON pixel bodies with the top_k labels and scores, most probable first', async () => {
    for (const [k, kind] of SHAPES.entries()) {
      const png = await post(await shapeImage(kind, 16, 3, 9000 + k), 'image/png');
      expect(png.status).toBe(200);
      const answer = png.json as { label: string; score: number }[];
      expect(answer).toHaveLength(2);
      expect(answer[0]!.label).toBe(kind);
      expect(answer[0]!.score).toBeGreaterThan(answer[1]!.score);
      // A larger JPEG is resized to the model's 16 x 16.
      const jpeg = await post(await shapeImage(kind, 48, 3, 9100 + k, 'jpeg'), 'image/jpeg');
      expect((jpeg.json as { label: string }[])[0]!.label).toBe(kind);
      const pixels = drawShape(kind, 16, 3, 9200 + k);
      const nested = Array.from({ length: 16 }, (_, y) => Array.from({ length: 16 }, (_, x) => Array.from(pixels.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3))));
      const json = await post(JSON.stringify(nested), 'application/json');
      expect((json.json as { label: string }[])[0]!.label).toBe(kind);
    }
  });

  it('serves the AWS SDK InvokeEndpoint with a PNG body', async () => {
    const client = new SageMakerRuntimeClient({ endpoint: trained.server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const response = await client.send(new InvokeEndpointCommand({ EndpointName: 'shapes', ContentType: 'image/png', Body: await shapeImage('disc', 16, 3, 9300) }));
      expect(response.ContentType).toBe('application/json');
      expect((JSON.parse(new TextDecoder().decode(response.Body)) as { label: string }[])[0]!.label).toBe('disc');
      const refused = await client.send(new InvokeEndpointCommand({ EndpointName: 'shapes', ContentType: 'image/png', Body: new Uint8Array([1, 2, 3]) })).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ModelError);
      expect((refused as ModelError).OriginalStatusCode).toBe(400);
      // The SDK path answers a model's 4xx as SageMaker does: 424 with the original status inside.
      expect(trained.server.log.at(-1)).toMatchObject({ path: '/endpoints/shapes/invocations', status: 424 });
    } finally {
      client.destroy();
    }
  });

  it('refuses a truncated PNG, a grayscale image, a WAV and malformed pixels with named 4xx errors', async () => {
    const png = await shapeImage('bar', 16, 3, 9400);
    const truncated = await post(png.subarray(0, png.length - 30), 'image/png');
    expect(truncated).toMatchObject({ status: 400, json: { type: 'InvalidImage' } });
    expect((truncated.json as { message: string }).message).toMatch(/truncated or corrupt/);
    const gray = await post(await shapeImage('bar', 16, 1, 9401), 'image/png');
    expect(gray).toMatchObject({ status: 400, json: { type: 'InvalidImage' } });
    expect((gray.json as { message: string }).message).toMatch(/grayscale \(1 colour channel\), but this model reads RGB images \(3\)/);
    const mislabelled = await post(png, 'image/jpeg');
    expect(mislabelled).toMatchObject({ status: 415, json: { type: 'UnsupportedMediaType' } });
    const wav = await post(encodeWav16(new Float32Array(800), 8000), 'audio/wav');
    expect(wav).toMatchObject({ status: 415, json: { type: 'UnsupportedMediaType' } });
    const rows = await post(JSON.stringify([[[0, 0, 0]]]), 'application/json');
    expect(rows).toMatchObject({ status: 400, json: { type: 'InvalidImage' } });
    expect((rows.json as { message: string }).message).toMatch(/has 1 rows; this model reads a JSON array of 16 rows of 16 pixels of 3 values/);
    const csv = await post('1,2,3', 'text/csv');
    expect(csv.status).toBe(415);
    const accept = await post(png, 'image/png', 'text/csv');
    expect(accept.status).toBe(406);
  });

  it('reads a manifest of JPEGs (grayscale model, augmentation) and resumes after a stop to the same model', async () => {
    const make = async (): Promise<RuntimePaths> => {
      const tree = await makeTree({ ...HP, image_channels: '1', epochs: '3', augment_flip: 'true', augment_crop: '2', checkpoint_every_steps: '5' }, {});
      const lines: string[] = [];
      for (const [k, kind] of SHAPES.entries()) {
        await mkdir(path.join(tree.channel('train'), 'images'), { recursive: true });
        for (let i = 0; i < 16; i++) {
          const name = `images/${kind}-${i}.jpg`;
          await writeFile(path.join(tree.channel('train'), name), await shapeImage(kind, 20, 3, 7000 + k * 100 + i, 'jpeg'));
          lines.push(JSON.stringify({ 'source-ref': name, class: kind }));
        }
      }
      await writeFile(path.join(tree.channel('train'), 'train.manifest'), `${lines.join('\n')}\n`);
      return tree;
    };
    const straight = await expectResumedRunToMatch(make);
    expect((straight.description as ImageClassifierDescription).labels).toEqual([...SHAPES]);
  }, 60_000);

  it('names what is wrong with the training data', async () => {
    const tree = await makeTree(HP, { train: { 'loose.png': 'x' } });
    await expect(runTraining(tree, { onEvent: () => undefined })).rejects.toThrow(/loose\.png lies outside any class folder/);
    await mkdir(path.join(tree.channel('train'), 'cat'), { recursive: true });
    await rm(path.join(tree.channel('train'), 'loose.png'));
    await writeFile(path.join(tree.channel('train'), 'cat', 'broken.png'), 'not a png');
    await mkdir(path.join(tree.channel('train'), 'dog'), { recursive: true });
    await writeFile(path.join(tree.channel('train'), 'dog', 'ok.png'), await shapeImage('bar', 16, 3, 1));
    await expect(runTraining(tree, { onEvent: () => undefined })).rejects.toThrow(/train: cat\/broken\.png: not a readable PNG or JPEG image/);
    await rm(tree.root, { recursive: true, force: true });
  });
});
