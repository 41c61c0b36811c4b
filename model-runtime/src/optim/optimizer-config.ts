/** What the optimizer update appended to the training graph does (optimizers.ts) and at what rate (schedule.ts). */
export interface OptimizerConfig {
  readonly name: 'sgd' | 'adam' | 'adamw';
  readonly learningRate: number;
  /** sgd only. */
  readonly momentum: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** adamw: decoupled weight decay; sgd/adam: L2 penalty added to the gradient. */
  readonly weightDecay: number;
  /** Global L2 norm the gradients are scaled down to before the update (graph/clipping.ts); 0 = off. */
  readonly gradClip: number;
  readonly schedule: {
    readonly kind: 'constant' | 'cosine';
    /** Linear warm-up from 0 over this many steps, then the schedule. */
    readonly warmupSteps: number;
    /** Steps of the whole run, for cosine decay. */
    readonly totalSteps: number;
  };
}
