/**
 * The training progress bar for people at a terminal (`model-runtime train` and `modelstack
 * train`): phase, epoch, batch and losses on stderr, so stdout stays metric lines only. It
 * subscribes to the run's events: each batch redraws it, and each evaluated epoch fills it one
 * step with that epoch's validation loss. A run counted in steps (the language model) shows its
 * step, the recent training loss and tokens per second instead.
 */
import { SingleBar } from 'cli-progress';
import type { BatchEvent, EpochEvent, TrainingEvent } from './training-events.ts';

export interface TrainingProgressBar {
  /** Redraws the bar for a batch or epoch event; other events leave it as it is. */
  update(event: TrainingEvent): void;
  /** Clears the bar's line so a line written next starts clean; the next update redraws the bar. */
  clearLine(): void;
  stop(): void;
}

const EPOCH_FORMAT = '{phase} epoch {epoch}/{epochs} [{bar}] batch {batch} train_loss {trainLoss} validation_loss {validationLoss}';
const STEP_FORMAT = 'train step {value}/{total} [{bar}] loss {trainLoss} {tokensPerSecond} tokens/s validation_loss {validationLoss}';

export function trainingProgressBar(stream: NodeJS.WriteStream = process.stderr): TrainingProgressBar {
  const barWith = (format: string): SingleBar => new SingleBar({ stream, format, hideCursor: true, clearOnComplete: true });
  let bar = barWith(EPOCH_FORMAT);
  let started = false;
  const validationLoss = validationLossLabel();
  let stepValidationLoss = '-';
  return {
    update(event) {
      if (event.kind === 'step') {
        if (event.metrics?.validation_loss !== undefined) stepValidationLoss = `${event.metrics.validation_loss.toPrecision(4)} (step ${event.step})`;
        const payload = { trainLoss: event.trainLoss.toPrecision(4), tokensPerSecond: Math.round(event.tokensPerSecond), validationLoss: stepValidationLoss };
        if (!started) {
          bar = barWith(STEP_FORMAT);
          bar.start(event.steps, event.step, payload);
          started = true;
        }
        bar.update(event.step, payload);
        return;
      }
      if (event.kind !== 'batch' && event.kind !== 'epoch') return;
      const evaluated = event.kind === 'epoch';
      const payload = {
        phase: event.fold === null ? 'train' : `cv fold ${event.fold + 1}`,
        epoch: event.epoch,
        epochs: event.epochs,
        batch: evaluated ? event.batches : event.batch,
        trainLoss: (evaluated ? event.metrics.train_loss : event.trainLoss).toPrecision(4),
        validationLoss: validationLoss(event),
      };
      // The bar fills with evaluated epochs; the text names the one under way, and the validation
      // loss names the epoch it belongs to (never a previous epoch's value passed off as this one's).
      const completed = evaluated ? event.epoch : event.epoch - 1;
      if (!started) {
        bar.start(event.epochs, completed, payload);
        started = true;
      }
      bar.setTotal(event.epochs);
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
export function validationLossLabel(): (event: BatchEvent | EpochEvent) => string {
  let last: { epoch: number; loss: number; fold: number | null } | null = null;
  return (event) => {
    if (last !== null && (last.fold !== event.fold || last.epoch > event.epoch)) last = null; // a new fold or the final fit
    const loss = event.kind === 'epoch' ? event.metrics.validation_loss : undefined;
    if (loss !== undefined) last = { epoch: event.epoch, loss, fold: event.fold };
    return last === null ? '-' : `${last.loss.toPrecision(4)} (epoch ${last.epoch})`;
  };
}
