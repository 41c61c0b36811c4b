/**
 * `modelstack train <folder> --algorithm image-classifier` on a folder of class folders: the
 * archive, the loss curve and the validation confusion matrix beside it, and the per-class
 * precision/recall lines of the report.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { trainModel } from '../../bin/cli/train.ts';
import { trainingLogLine } from '../../model-runtime/src/train/training-log.ts';
import { SHAPES, writeShapeFolders } from '../runtime/cnn/generated-data.ts';

it('trains an image classifier on class folders and writes the confusion matrix beside the loss curve', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'modelstack-cli-images-'));
  try {
    await writeShapeFolders(path.join(work, 'shapes'), 20, 16, 1, 4);
    const lines: string[] = [];
    const trained = await trainModel(path.join(work, 'shapes'), {
      hyperparameters: { algorithm: 'image-classifier', image_size: '16', image_channels: '1', conv_widths: '8,16', dense_units: '32', epochs: '6', batch_size: '16', learning_rate: '0.003', validation_fraction: '0.25', seed: '2' },
      output: path.join(work, 'shapes.tar.gz'),
      onEvent: (event) => {
        const line = trainingLogLine(event);
        if (line !== null) lines.push(line);
      },
    });
    expect(trained.confusionMatrix).toBe(path.join(work, 'shapes.confusion.svg'));
    const svg = await readFile(trained.confusionMatrix!, 'utf8');
    expect(svg.match(/class="cell"/g)).toHaveLength(9);
    for (const shape of SHAPES) expect(svg).toContain(`>${shape}</text>`);
    const report = trained.result.validationReport!;
    expect(report.support).toEqual([5, 5, 5]);
    for (const shape of SHAPES) expect(lines.some((l) => new RegExp(`^validation class ${shape}: precision \\S+, recall \\S+ \\(5 examples\\)$`).test(l))).toBe(true);
    expect((await readFile(trained.lossCurve, 'utf8')).startsWith('<svg')).toBe(true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}, 60_000);
