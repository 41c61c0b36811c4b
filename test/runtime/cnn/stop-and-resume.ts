/**
 * The resume check of the CNN tests: a job trained straight through and its twin stopped after a
 * few batches (a checkpoint on the stop, as on SIGTERM) and run again must seal the same model.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { TrainingStopped } from '../../../model-runtime/src/train/fit.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import type { TrainingResult } from '../../../model-runtime/src/train/training-events.ts';

/** Trains two trees from `make`, stops the second after `stopAfter` batches and resumes it; returns the straight run's result. */
export async function expectResumedRunToMatch(make: () => Promise<RuntimePaths>, stopAfter = 4): Promise<TrainingResult> {
  const whole = await make();
  const stopped = await make();
  try {
    const straight = await runTraining(whole, { onEvent: () => undefined });
    const controller = new AbortController();
    let batches = 0;
    const first = runTraining(stopped, {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.kind === 'batch' && ++batches === stopAfter) controller.abort();
      },
    });
    await expect(first).rejects.toBeInstanceOf(TrainingStopped);
    const resumed = await runTraining(stopped, { onEvent: () => undefined });
    expect(resumed.manifest.digest).toBe(straight.manifest.digest);
    expect(await readFile(path.join(stopped.model, 'model.onnx'))).toEqual(await readFile(path.join(whole.model, 'model.onnx')));
    return straight;
  } finally {
    await rm(whole.root, { recursive: true, force: true });
    await rm(stopped.root, { recursive: true, force: true });
  }
}
