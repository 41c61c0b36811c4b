/**
 * A temporary SageMaker-style tree (MODEL_RUNTIME_ROOT) with generated data, for training tests.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runtimePaths, type RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { createRandom } from '../../../model-runtime/src/data/random.ts';

export async function makeTree(
  hyperparameters: Record<string, string>,
  channels: Record<string, Record<string, string>>,
  inputDataConfig?: Record<string, { ContentType?: string }>,
): Promise<RuntimePaths> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'modelstack-train-'));
  const paths = runtimePaths(root);
  await mkdir(path.dirname(paths.hyperparameters), { recursive: true });
  await writeFile(paths.hyperparameters, JSON.stringify(hyperparameters));
  if (inputDataConfig) await writeFile(paths.inputDataConfig, JSON.stringify(inputDataConfig));
  for (const [channel, files] of Object.entries(channels)) {
    await mkdir(paths.channel(channel), { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(paths.channel(channel), name), content);
  }
  return paths;
}

/** y = 3a - 2b + 1 + noise(0.05): CSV with header, label first. */
export function linearCsv(rows: number, seed: number): string {
  const random = createRandom(seed);
  const lines = ['y,a,b'];
  for (let i = 0; i < rows; i++) {
    const a = random() * 4 - 2;
    const b = random() * 10;
    const noise = (random() + random() + random() - 1.5) * 0.1;
    lines.push(`${(3 * a - 2 * b + 1 + noise).toFixed(5)},${a.toFixed(5)},${b.toFixed(5)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Three Gaussian-ish blobs labelled red/green/blue: CSV without header, label first. */
export function blobsCsv(rows: number, seed: number): string {
  const random = createRandom(seed);
  const centres: Record<string, [number, number]> = { red: [0, 3], green: [3, -2], blue: [-3, -2] };
  const names = Object.keys(centres);
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const name = names[i % 3]!;
    const [cx, cy] = centres[name]!;
    lines.push(`${name},${(cx + (random() - 0.5) * 3).toFixed(4)},${(cy + (random() - 0.5) * 3).toFixed(4)}`);
  }
  return `${lines.join('\n')}\n`;
}
