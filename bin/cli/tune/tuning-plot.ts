/**
 * tuning.svg: the objective of every trial against its number and against each searched
 * hyperparameter, one panel each, in the style of the loss curve (bin/cli/loss-curve.ts): one
 * self-contained SVG, no scripts, no external fonts. Finished trials are blue, trials stopped early
 * grey (their objective is the best epoch before the stop), the best trial orange.
 */
import type { Objective } from '../../../model-runtime/src/contract/objective.ts';
import type { ParameterRange } from '../../../model-runtime/src/contract/search-space.ts';
import { escapeXml, formatTick } from '../loss-curve.ts';
import type { TrialRecord } from './search.ts';

const PANEL = { width: 360, height: 260 };
const MARGIN = { top: 36, right: 16, bottom: 44, left: 64 };
const COLUMNS = 2;
const COLORS = { done: '#1f77b4', stopped: '#999999', best: '#ff7f0e' } as const;

interface Point {
  readonly trial: TrialRecord;
  readonly x: number;
  readonly y: number;
}

/** Where an x value goes across a panel: [0, 1]; ticks as (position, label). */
interface XAxis {
  readonly title: string;
  position(trial: TrialRecord): number | null;
  readonly ticks: ReadonlyArray<readonly [number, string]>;
}

export function tuningPlotSvg(trials: readonly TrialRecord[], ranges: readonly ParameterRange[], objective: Objective, best: TrialRecord | null): string {
  const plotted = trials.filter((t) => t.objective !== null && Number.isFinite(t.objective) && (t.state === 'done' || t.state === 'stopped early'));
  const axes: XAxis[] = [trialAxis(trials.length), ...ranges.map(rangeAxis)];
  const rows = Math.ceil(axes.length / COLUMNS);
  const width = PANEL.width * Math.min(COLUMNS, axes.length);
  const height = PANEL.height * rows + 40;
  const values = plotted.map((t) => t.objective!);
  const low = values.length === 0 ? 0 : Math.min(...values);
  const high = values.length === 0 ? 1 : Math.max(...values);
  const pad = (high - low || Math.abs(high) || 1) * 0.05;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(`${objective.metric} (${objective.goal}) of ${plotted.length} of ${trials.length} trials`)}</text>`,
  ];
  axes.forEach((axis, index) => {
    const left = (index % COLUMNS) * PANEL.width;
    const top = 40 + Math.floor(index / COLUMNS) * PANEL.height;
    parts.push(...panel(axis, plotted, best, { left, top, low: low - pad, high: high + pad }, objective.metric));
  });
  if (plotted.length === 0) parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no trial reported ${escapeXml(objective.metric)}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function panel(axis: XAxis, trials: readonly TrialRecord[], best: TrialRecord | null, frame: { left: number; top: number; low: number; high: number }, metric: string): string[] {
  const plotWidth = PANEL.width - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL.height - MARGIN.top - MARGIN.bottom;
  const x0 = frame.left + MARGIN.left;
  const y0 = frame.top + MARGIN.top;
  const x = (u: number) => x0 + u * plotWidth;
  const y = (v: number) => y0 + plotHeight - ((v - frame.low) / (frame.high - frame.low || 1)) * plotHeight;
  const yTicks = Array.from({ length: 4 }, (_, i) => frame.low + ((frame.high - frame.low) * i) / 3);
  const parts = [
    `<text x="${frame.left + PANEL.width / 2}" y="${frame.top + 20}" text-anchor="middle" font-size="13">${escapeXml(axis.title)}</text>`,
    ...yTicks.map((v) => `<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/><text x="${x0 - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${formatTick(v)}</text>`),
    ...axis.ticks.map(([u, label]) => `<text x="${x(u).toFixed(1)}" y="${y0 + plotHeight + 16}" text-anchor="middle">${escapeXml(label)}</text>`),
    `<line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y0 + plotHeight}" stroke="#333"/>`,
    `<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y0 + plotHeight}" y2="${y0 + plotHeight}" stroke="#333"/>`,
    `<text x="${frame.left + 14}" y="${y0 + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 ${frame.left + 14} ${y0 + plotHeight / 2})">${escapeXml(metric)}</text>`,
  ];
  const points: Point[] = trials.flatMap((trial) => {
    const u = axis.position(trial);
    return u === null ? [] : [{ trial, x: x(u), y: y(trial.objective!) }];
  });
  for (const p of points) {
    const color = p.trial === best ? COLORS.best : p.trial.state === 'done' ? COLORS.done : COLORS.stopped;
    const hp = Object.entries(p.trial.sampled).map(([k, v]) => `${k}=${v}`).join(' ');
    parts.push(
      `<circle class="trial" cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${p.trial === best ? 5 : 3.5}" fill="${color}"><title>trial ${p.trial.index} (${p.trial.state}): ${escapeXml(hp)}; ${metric} ${p.trial.objective!.toPrecision(5)}</title></circle>`,
    );
  }
  return parts;
}

function trialAxis(count: number): XAxis {
  const span = Math.max(1, count - 1);
  const ticks = [...new Set(Array.from({ length: Math.min(count, 6) }, (_, i) => 1 + Math.round((span * i) / Math.max(1, Math.min(count, 6) - 1))))];
  return {
    title: 'by trial',
    position: (trial) => (count <= 1 ? 0.5 : (trial.index - 1) / span),
    ticks: ticks.map((t) => [count <= 1 ? 0.5 : (t - 1) / span, String(t)] as const),
  };
}

function rangeAxis(range: ParameterRange): XAxis {
  if (range.kind === 'categorical') {
    const slot = (i: number) => (i + 0.5) / range.values.length;
    return {
      title: `by ${range.name}`,
      position: (trial) => {
        const i = range.values.indexOf(trial.sampled[range.name] ?? '');
        return i < 0 ? null : slot(i);
      },
      ticks: range.values.map((value, i) => [slot(i), value] as const),
    };
  }
  const log = range.scale === 'log';
  const scale = (v: number) => (log ? (Math.log(v) - Math.log(range.min)) / (Math.log(range.max) - Math.log(range.min)) : (v - range.min) / (range.max - range.min));
  const tickValues = log ? decades(range.min, range.max) : Array.from({ length: 5 }, (_, i) => range.min + ((range.max - range.min) * i) / 4);
  return {
    title: `by ${range.name}${log ? ' (log scale)' : ''}`,
    position: (trial) => {
      const v = Number(trial.sampled[range.name]);
      return Number.isFinite(v) ? scale(v) : null;
    },
    ticks: tickValues.map((v) => [scale(v), range.kind === 'integer' ? String(Math.round(v)) : formatTick(v)] as const),
  };
}

/** Powers of ten within [min, max], with the bounds when fewer than two fall inside. */
function decades(min: number, max: number): number[] {
  const inside: number[] = [];
  for (let e = Math.ceil(Math.log10(min)); e <= Math.floor(Math.log10(max)); e++) inside.push(10 ** e);
  return inside.length >= 2 ? inside : [min, max];
}
