/**
 * The loss-curve report `modelstack train` writes beside model.tar.gz: one self-contained SVG
 * (no scripts, no external fonts) with the train and validation loss of every epoch.
 */
import type { MetricName } from '../../model-runtime/src/contract/metrics.ts';

export type EpochHistory = ReadonlyArray<Partial<Record<MetricName, number>>>;

const WIDTH = 720;
const HEIGHT = 400;
const MARGIN = { top: 48, right: 24, bottom: 48, left: 72 };
const SERIES = [
  { metric: 'train_loss', label: 'train loss', color: '#1f77b4' },
  { metric: 'validation_loss', label: 'validation loss', color: '#ff7f0e' },
] as const;

export function lossCurveSvg(history: EpochHistory, title: string): string {
  const series = SERIES.map((s) => ({
    ...s,
    points: history
      .map((entry, index) => ({ epoch: entry.epoch ?? index + 1, loss: entry[s.metric] }))
      .filter((point): point is { epoch: number; loss: number } => typeof point.loss === 'number' && Number.isFinite(point.loss)),
  })).filter((s) => s.points.length > 0);
  const all = series.flatMap((s) => s.points);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxEpoch = Math.max(1, ...all.map((p) => p.epoch));
  const minEpoch = Math.min(maxEpoch, ...all.map((p) => p.epoch));
  const maxLoss = all.length === 0 ? 1 : Math.max(...all.map((p) => p.loss));
  const minLoss = Math.min(0, ...all.map((p) => p.loss));
  const x = (epoch: number) => MARGIN.left + (maxEpoch === minEpoch ? plotWidth / 2 : ((epoch - minEpoch) / (maxEpoch - minEpoch)) * plotWidth);
  const y = (loss: number) => MARGIN.top + plotHeight - ((loss - minLoss) / (maxLoss - minLoss || 1)) * plotHeight;

  const yTicks = Array.from({ length: 5 }, (_, i) => minLoss + ((maxLoss - minLoss) * i) / 4);
  const xTicks = [...new Set(Array.from({ length: 6 }, (_, i) => Math.round(minEpoch + ((maxEpoch - minEpoch) * i) / 5)))];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    ...yTicks.map((tick) => `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e5e5e5"/><text x="${MARGIN.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${formatTick(tick)}</text>`),
    ...xTicks.map((tick) => `<text x="${x(tick).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${tick}</text>`),
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">epoch</text>`,
    `<text x="18" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 18 ${MARGIN.top + plotHeight / 2})">loss</text>`,
  ];
  series.forEach((s, index) => {
    const path = s.points.map((p) => `${x(p.epoch).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="${s.metric}" fill="none" stroke="${s.color}" stroke-width="2" points="${path}"/>`);
    for (const p of s.points) parts.push(`<circle cx="${x(p.epoch).toFixed(1)}" cy="${y(p.loss).toFixed(1)}" r="2.5" fill="${s.color}"><title>epoch ${p.epoch}: ${s.label} ${p.loss.toPrecision(5)}</title></circle>`);
    const legendY = MARGIN.top + 8 + index * 18;
    const last = s.points.at(-1)!;
    parts.push(`<line x1="${WIDTH - MARGIN.right - 200}" x2="${WIDTH - MARGIN.right - 180}" y1="${legendY}" y2="${legendY}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right - 174}" y="${legendY + 4}">${s.label} (last ${last.loss.toPrecision(4)})</text>`);
  });
  if (series.length === 0) parts.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no loss was recorded</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export function formatTick(value: number): string {
  return Math.abs(value) >= 100 || value === 0 ? value.toFixed(0) : value.toPrecision(3);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
