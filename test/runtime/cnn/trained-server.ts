/**
 * A CNN model trained on generated data in a temporary job, served on a loopback port, and a
 * way to post raw bodies to it.
 */
import { rm } from 'node:fs/promises';
import type { RuntimePaths } from '../../../model-runtime/src/contract/paths.ts';
import { runTraining } from '../../../model-runtime/src/train/run.ts';
import type { TrainingResult } from '../../../model-runtime/src/train/training-events.ts';
import { startLocalServer, type LocalServer } from '../../serve/fixtures/local-server.ts';
import { makeTree } from '../train/tree.ts';

export interface TrainedServer {
  readonly paths: RuntimePaths;
  readonly result: TrainingResult;
  readonly server: LocalServer;
  post(body: Uint8Array | string, contentType: string, accept?: string): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

export async function trainAndServe(hyperparameters: Record<string, string>, writeTrainChannel: (dir: string) => Promise<void>): Promise<TrainedServer> {
  const paths = await makeTree(hyperparameters, {});
  await writeTrainChannel(paths.channel('train'));
  const result = await runTraining(paths, { onEvent: () => undefined });
  const server = await startLocalServer(paths.model);
  await server.server.ready;
  return {
    paths,
    result,
    server,
    async post(body, contentType, accept) {
      const response = await fetch(`${server.url}/invocations`, { method: 'POST', body, headers: { 'content-type': contentType, ...(accept ? { accept } : {}) } });
      const text = await response.text();
      return { status: response.status, json: JSON.parse(text) as unknown };
    },
    async close() {
      await server.close();
      await rm(paths.root, { recursive: true, force: true });
    },
  };
}
