/**
 * The live table of a tuning run: one row per trial (hyperparameters, epoch, objective so far,
 * state). At a terminal it is redrawn in place after every change; elsewhere (a log, a pipe) each
 * change of a trial's state prints one line, so the log reads as a history.
 */
import type { Objective } from '../../../model-runtime/src/contract/objective.ts';
import type { TrialRecord } from './search.ts';

export interface TrialTable {
  update(trial: TrialRecord, all: readonly TrialRecord[]): void;
  /** Draws the last state (at a terminal) and stops redrawing. */
  stop(all: readonly TrialRecord[]): void;
}

export function formatObjective(value: number | null): string {
  return value === null ? '-' : Number.isFinite(value) ? value.toPrecision(5) : String(value);
}

export function tableLines(all: readonly TrialRecord[], searched: readonly string[], objective: Objective): string[] {
  const header = ['trial', ...searched, 'epoch', `${objective.metric} (${objective.goal === 'minimize' ? 'min' : 'max'})`, 'state'];
  const rows = all.map((t) => [
    String(t.index),
    ...searched.map((name) => t.sampled[name] ?? ''),
    t.epoch === 0 ? '-' : String(t.epoch),
    formatObjective(t.objective),
    t.state === 'failed' && t.reason !== null ? `failed: ${t.reason.split('\n')[0]!.slice(0, 80)}` : t.state,
  ]);
  const widths = header.map((h, column) => Math.max(h.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export function trialTable(stream: NodeJS.WriteStream, searched: readonly string[], objective: Objective): TrialTable {
  if (stream.isTTY) {
    let drawn = 0;
    let last = 0;
    const draw = (all: readonly TrialRecord[]) => {
      const lines = tableLines(all, searched, objective);
      // Up to the table's first line, then each line cleared and rewritten.
      stream.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
      drawn = lines.length;
      last = Date.now();
    };
    return {
      // Epoch updates come fast from P trials; ten redraws a second are enough to read.
      update: (trial, all) => {
        if (trial.state === 'running' && trial.epoch > 0 && Date.now() - last < 100) return;
        draw(all);
      },
      stop: draw,
    };
  }
  const lastState = new Map<number, string>();
  return {
    update(trial) {
      if (lastState.get(trial.index) === trial.state) return;
      lastState.set(trial.index, trial.state);
      const hp = searched.map((name) => `${name}=${trial.sampled[name]}`).join(' ');
      const detail =
        trial.state === 'running'
          ? `seed=${trial.seed}`
          : `epoch ${trial.epoch}, ${objective.metric} ${formatObjective(trial.objective)}${trial.reason !== null ? ` (${trial.reason})` : ''}`;
      stream.write(`trial ${trial.index} ${trial.state}: ${hp}; ${detail}\n`);
    },
    stop() {},
  };
}
