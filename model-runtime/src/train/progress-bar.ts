/**
 * The training progress bar for people at a terminal (`model-runtime train` and `modelstack
 * train`): phase, epoch, batch and losses on stderr, so stdout stays metric lines only.
 */
import { SingleBar } from 'cli-progress';
import type { TrainingProgress } from './run.ts';

export interface TrainingProgressBar {
  update(p: TrainingProgress): void;
  /** Clears the bar's line so a line written next starts clean; the next update redraws the bar. */
  clearLine(): void;
  stop(): void;
}

export function trainingProgressBar(stream: NodeJS.WriteStream = process.stderr): TrainingProgressBar {
  const bar = new SingleBar({
    stream,
    format: '{phase} epoch {epoch}/{epochs} [{bar}] batch {batch} train_loss {trainLoss} validation_loss {validationLoss}',
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  return {
    update(p) {
      const payload = {
        phase: p.fold === null ? p.phase : `${p.phase} fold ${p.fold + 1}`,
        epoch: p.epoch,
        epochs: p.epochs,
        batch: p.batch,
        trainLoss: p.trainLoss.toPrecision(4),
        validationLoss: p.validationLoss === null ? '-' : p.validationLoss.toPrecision(4),
      };
      // The bar fills with completed epochs; the text names the one under way, whose validation
      // loss shows as '-' until it is evaluated (never the previous epoch's value beside its number).
      const completed = p.epochComplete ? p.epoch : p.epoch - 1;
      if (!started) {
        bar.start(p.epochs, completed, payload);
        started = true;
      }
      bar.setTotal(p.epochs);
      bar.update(completed, payload);
    },
    clearLine() {
      if (started) stream.write('\r\x1b[K');
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
