/**
 * The runtime side of the training benches: losses of consecutive steps (compared with the peer's)
 * and wall-clock time per step, over a fixed list of batches taken in turn.
 */
import { performance } from 'node:perf_hooks';

export interface Steppable<B> {
  trainStep(batch: B): Promise<number>;
}

/** Loss of each of `steps` steps from the model's current state. */
export async function stepLosses<B>(model: Steppable<B>, batches: readonly B[], steps: number): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(await model.trainStep(batches[s % batches.length]!));
  return losses;
}

/** Milliseconds of each of `steps` steps, starting at batch `offset`. */
export async function timeSteps<B>(model: Steppable<B>, batches: readonly B[], steps: number, offset: number): Promise<number[]> {
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const start = performance.now();
    await model.trainStep(batches[(offset + s) % batches.length]!);
    times.push(performance.now() - start);
  }
  return times;
}
