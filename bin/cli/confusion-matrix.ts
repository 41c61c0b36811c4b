/**
 * The confusion-matrix report `modelstack train` writes beside the loss curve for classifiers:
 * one self-contained SVG (no scripts, no external fonts), a cell per (actual, predicted) pair
 * shaded by the share of the actual class's examples, with per-class precision and recall.
 */
import type { ClassReport } from '../../model-runtime/src/train/confusion.ts';

const CELL = 44;
const LEFT = 140;
const TOP = 96;

export function confusionMatrixSvg(report: ClassReport, title: string): string {
  const k = report.labels.length;
  const width = LEFT + k * CELL + 180;
  const height = TOP + k * CELL + 40;
  const share = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(2));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<text x="${LEFT + (k * CELL) / 2}" y="46" text-anchor="middle">predicted</text>`,
    `<text x="16" y="${TOP + (k * CELL) / 2}" text-anchor="middle" transform="rotate(-90 16 ${TOP + (k * CELL) / 2})">actual</text>`,
    `<text x="${LEFT + k * CELL + 12}" y="${TOP - 10}">precision / recall</text>`,
  ];
  report.labels.forEach((label, j) => {
    const x = LEFT + j * CELL + CELL / 2;
    parts.push(`<text x="${x}" y="${TOP - 10}" text-anchor="end" transform="rotate(-45 ${x} ${TOP - 10})">${escapeXml(label)}</text>`);
  });
  report.matrix.forEach((row, i) => {
    const y = TOP + i * CELL;
    parts.push(`<text x="${LEFT - 8}" y="${y + CELL / 2 + 4}" text-anchor="end">${escapeXml(report.labels[i]!)}</text>`);
    row.forEach((count, j) => {
      const fraction = report.support[i]! === 0 ? 0 : count / report.support[i]!;
      const light = Math.round(255 - fraction * 200);
      parts.push(
        `<rect class="cell" x="${LEFT + j * CELL}" y="${y}" width="${CELL}" height="${CELL}" fill="rgb(${light},${light},255)" stroke="#ccc"><title>actual ${escapeXml(report.labels[i]!)}, predicted ${escapeXml(report.labels[j]!)}: ${count}</title></rect>`,
        `<text x="${LEFT + j * CELL + CELL / 2}" y="${y + CELL / 2 + 4}" text-anchor="middle" fill="${fraction > 0.6 ? 'white' : 'black'}">${count}</text>`,
      );
    });
    parts.push(`<text x="${LEFT + k * CELL + 12}" y="${y + CELL / 2 + 4}">${share(report.precision[i]!)} / ${share(report.recall[i]!)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
