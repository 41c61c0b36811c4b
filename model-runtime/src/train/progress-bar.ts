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
  const validationLoss = validationLossLabel();
  return {
    update(p) {
      const payload = {
        phase: p.fold === null ? p.phase : `${p.phase} fold ${p.fold + 1}`,
        epoch: p.epoch,
        epochs: p.epochs,
        batch: p.batch,
        trainLoss: p.trainLoss.toPrecision(4),
        validationLoss: validationLoss(p),
      };
      // The bar fills with completed epochs; the text names the one under way, and the validation
      // loss names the epoch it belongs to (never a previous epoch's value passed off as this one's).
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

/**
 * The bar's validation-loss text: the latest evaluated epoch's value with that epoch's number
 * (`0.04120 (epoch 3)`) while the next epoch runs, so fast epochs do not leave the bar showing '-'
 * nearly all the time, and no value is passed off as the running epoch's; '-' before the first
 * evaluation of a run or fold.
 */
export function validationLossLabel(): (p: TrainingProgress) => string {
  let last: { epoch: number; loss: number; fold: number | null } | null = null;
  return (p) => {
    if (last !== null && (last.fold !== p.fold || last.epoch > p.epoch)) last = null; // a new fold or the final fit
    if (p.epochComplete && p.validationLoss !== null) last = { epoch: p.epoch, loss: p.validationLoss, fold: p.fold };
    return last === null ? '-' : `${last.loss.toPrecision(4)} (epoch ${last.epoch})`;
  };
}
