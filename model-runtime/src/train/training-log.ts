/**
 * The lines a training run prints on stdout, one subscriber of its events: metric lines that
 * SageMaker's MetricDefinitions read (contract/metrics.ts), notes for people, and the saved
 * model's folder and digest.
 */
import { modelSummaryList } from '../artifact/model-description.ts';
import { formatMetricLine } from '../contract/metrics.ts';
import type { TrainingEvent } from './training-events.ts';

/** The line an event prints, or null for one that prints none. */
export function trainingLogLine(event: TrainingEvent): string | null {
  switch (event.kind) {
    case 'note':
      return event.text;
    case 'batch':
      return null;
    case 'epoch':
      // Only the saved model's epochs: a fold's epochs would read as the job's own metrics.
      return event.phase === 'final' ? formatMetricLine(event.metrics) : null;
    case 'evaluation':
      return formatMetricLine(event.metrics);
    case 'done': {
      const { modelDir, description, manifest } = event.result;
      return `model: ${modelDir} (${modelSummaryList(description)}); digest ${manifest.digest}`;
    }
  }
}

/** A subscriber that hands every event's line to `write`. */
export function logTrainingLines(write: (line: string) => void): (event: TrainingEvent) => void {
  return (event) => {
    const line = trainingLogLine(event);
    if (line !== null) write(line);
  };
}
