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

/** The peer side of interleavedTimes: its steps' milliseconds (TorchPeer.time, bound to a case). */
export type PeerSteps = (steps: number) => Promise<number[]>;

/**
 * Milliseconds of each timed step of both engines, after `warmUp` untimed steps each (the first
 * runs allocate the arena), in rounds that alternate which engine goes first (runtime, peer,
 * peer, runtime, ...), so drift in the machine's load falls on both alike.
 */
export async function interleavedTimes<B>(
  model: Steppable<B>,
  batches: readonly B[],
  peer: PeerSteps,
  rounds: number,
  stepsPerRound: number,
  warmUp = 3,
): Promise<{ runtime: number[]; peer: number[] }> {
  await timeSteps(model, batches, warmUp, 0);
  await peer(warmUp);
  const times = { runtime: [] as number[], peer: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const runRuntime = async (): Promise<void> => { times.runtime.push(...(await timeSteps(model, batches, stepsPerRound, round))); };
    const runPeer = async (): Promise<void> => { times.peer.push(...(await peer(stepsPerRound))); };
    if (round % 2 === 0) { await runRuntime(); await runPeer(); } else { await runPeer(); await runRuntime(); }
  }
  return times;
}
