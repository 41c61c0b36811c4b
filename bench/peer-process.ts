/**
 * What the training benches share: a Python peer driven over stdin/stdout (one JSON command per
 * line, so the two engines can be timed in interleaved rounds), the tensors handed to it, and
 * the statistics and RESULTS.md section they report.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { peerEnvironment } from './peer-env.ts';

export class TorchPeer {
  private readonly lines: AsyncIterator<string>;
  private readonly child;

  constructor(script: string, dataDir: string, readonly threads: number) {
    // Passive waiting, as for the runtime (allowSpinning: false): on a shared machine spinning
    // OpenMP threads starve each other (PyTorch at 2 threads measured 8x slower with spinning).
    const env = peerEnvironment({ OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' });
    this.child = spawn('/usr/bin/python3', [script, dataDir], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async ready(): Promise<string> {
    return ((await this.next()) as { torch: string }).torch;
  }

  async losses(steps: number, extra: object = {}): Promise<number[]> {
    return ((await this.send({ cmd: 'losses', steps, ...extra })) as { losses: number[] }).losses;
  }

  async time(steps: number, extra: object = {}): Promise<number[]> {
    return ((await this.send({ cmd: 'time', steps, ...extra })) as { times: number[] }).times.map((s) => s * 1000);
  }

  /** Any other command of a peer's protocol; the answer as the peer wrote it. */
  async request<T>(command: object): Promise<T> {
    return (await this.send(command)) as T;
  }

  close(): void {
    this.child.stdin.end();
  }

  private async send(command: object): Promise<unknown> {
    this.child.stdin.write(`${JSON.stringify({ ...command, threads: this.threads })}\n`);
    return this.next();
  }

  private async next(): Promise<unknown> {
    const line = await this.lines.next();
    if (line.done === true) throw new Error('the PyTorch peer exited early (see its stderr above)');
    return JSON.parse(line.value) as unknown;
  }
}

export interface TensorEntry {
  dims: number[];
  offset: number;
}

/** Concatenates named float32 arrays into one .bin with a .json index (offsets in floats). */
export function writeTensors(prefix: string, entries: [string, number[], Float32Array][], extra: (index: Record<string, TensorEntry>) => object): void {
  const index: Record<string, TensorEntry> = {};
  let offset = 0;
  for (const [name, dims, data] of entries) {
    index[name] = { dims, offset };
    offset += data.length;
  }
  const all = new Float32Array(offset);
  for (const [name, , data] of entries) all.set(data, index[name]!.offset);
  writeFileSync(`${prefix}.bin`, new Uint8Array(all.buffer));
  writeFileSync(`${prefix}.json`, JSON.stringify({ ...extra(index), tensors: index }));
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The first and third quartiles (the nearest-rank ones outside), for a table's spread. */
export const quartiles = (xs: readonly number[]): [number, number] => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 4)]!, s[Math.ceil(((s.length - 1) * 3) / 4)]!];
};

export const maxRelative = (a: readonly number[], b: readonly number[]): number =>
  Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(Math.abs(b[i]!), 1e-12)));

/** Replaces the section starting with `heading` (up to the next `## `) in a results file, keeping the others. */
export function writeSection(file: string, heading: string, section: string): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const start = text.indexOf(heading);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${section}\n`;
  } else {
    const next = text.indexOf('\n## ', start + 3);
    text = `${text.slice(0, start)}${section}\n${next < 0 ? '' : text.slice(next)}`;
  }
  writeFileSync(file, text);
}
