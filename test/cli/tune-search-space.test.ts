import { describe, expect, it } from 'vitest';
import { parseObjective } from '../../model-runtime/src/contract/objective.ts';
import { formatRange, logRange, parseRange, parseSearchSpace, sagemakerParameterRanges, sampleRange } from '../../model-runtime/src/contract/search-space.ts';
import { createRandom } from '../../model-runtime/src/data/random.ts';

describe('range specs', () => {
  it('reads continuous, integer and categorical ranges, with | between choices that hold commas', () => {
    expect(parseRange('learning_rate=1e-4:1e-1:log')).toEqual({ kind: 'continuous', name: 'learning_rate', min: 1e-4, max: 0.1, scale: 'log' });
    expect(parseRange('epochs=10:50')).toEqual({ kind: 'integer', name: 'epochs', min: 10, max: 50, scale: 'linear' });
    expect(parseRange('dropout=0:0.5')).toEqual({ kind: 'continuous', name: 'dropout', min: 0, max: 0.5, scale: 'linear' });
    expect(parseRange('batch_size=16,32,64,128')).toEqual({ kind: 'categorical', name: 'batch_size', values: ['16', '32', '64', '128'] });
    expect(parseRange('hidden_sizes=32|64,64|128,128')).toEqual({ kind: 'categorical', name: 'hidden_sizes', values: ['32', '64,64', '128,128'] });
    expect(formatRange(parseRange('hidden_sizes=32|64,64'))).toBe('hidden_sizes=32|64,64');
    expect(formatRange(parseRange('learning_rate=1e-4:0.1:log'))).toBe('learning_rate=0.0001:0.1:log');
  });

  it.each([
    ['learning_rate', 'not name=spec'],
    ['learning_rate=', 'not name=spec'],
    ['learning_rat=1e-4:1e-1', "unknown hyperparameter 'learning_rat'"],
    ['learning_rate=1e-4:abc', "the upper bound 'abc' is not a number"],
    ['learning_rate=0.1:1e-4', 'must be below the upper bound'],
    ['learning_rate=1e-4:1e-1:cubic', "the scale 'cubic' is not log or linear"],
    ['learning_rate=1:2:log:x', 'has 4 parts'],
    ['dropout=0:0.5:log', 'a log scale needs bounds above 0'],
    ['learning_rate=1e-4:100', '100 is not an allowed learning_rate (expected number > 0 and <= 10)'],
    ['batch_size=16,,64', 'empty choice'],
    ['batch_size=16,16', 'lists a choice twice'],
    ['batch_size=16', 'one choice only: fix it with --hp batch_size=16'],
    ['optimizer=adam,lion', 'lion is not an allowed optimizer (expected sgd | adam | adamw)'],
    ['hidden_sizes=32|64,x', '64,x is not an allowed hidden_sizes'],
  ])('refuses %s, naming the problem', (spec, message) => {
    expect(() => parseRange(spec)).toThrow(message);
  });

  it('refuses two ranges for one hyperparameter', () => {
    expect(() => parseSearchSpace(['batch_size=16,32', 'batch_size=8:64'])).toThrow('batch_size has two ranges');
  });
});

describe('sampling', () => {
  it('keeps every value inside its range and the runtime\'s table, log scales even per decade', () => {
    const random = createRandom(1);
    const lr = parseRange('learning_rate=1e-4:1e-1:log');
    const values = Array.from({ length: 3000 }, () => Number(sampleRange(lr, random)));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...values)).toBeLessThanOrEqual(0.1);
    // Three decades, each about a third of the draws (uniform sampling would put 90% in the last).
    for (const [low, high] of [[1e-4, 1e-3], [1e-3, 1e-2], [1e-2, 1e-1]] as const) {
      const share = values.filter((v) => v >= low && v < high).length / values.length;
      expect(share).toBeGreaterThan(0.28);
      expect(share).toBeLessThan(0.39);
    }
    const epochs = parseRange('epochs=1:3');
    const drawn = new Set(Array.from({ length: 300 }, () => sampleRange(epochs, random)));
    expect([...drawn].sort()).toEqual(['1', '2', '3']);
    const sizes = parseRange('hidden_sizes=32|64,64');
    expect(new Set(Array.from({ length: 100 }, () => sampleRange(sizes, random)))).toEqual(new Set(['32', '64,64']));
  });
});

describe('SageMaker ParameterRanges', () => {
  it('maps each kind to its SageMaker range, every value a string, kinds without ranges left out', () => {
    expect(sagemakerParameterRanges(parseSearchSpace(['learning_rate=1e-4:1e-1:log', 'epochs=10:50', 'hidden_sizes=32|64,64', 'batch_size=16:512:log']))).toEqual({
      ContinuousParameterRanges: [{ Name: 'learning_rate', MinValue: '0.0001', MaxValue: '0.1', ScalingType: 'Logarithmic' }],
      IntegerParameterRanges: [
        { Name: 'epochs', MinValue: '10', MaxValue: '50', ScalingType: 'Linear' },
        { Name: 'batch_size', MinValue: '16', MaxValue: '512', ScalingType: 'Logarithmic' },
      ],
      CategoricalParameterRanges: [{ Name: 'hidden_sizes', Values: ['32', '64,64'] }],
    });
    expect(sagemakerParameterRanges([logRange('learning_rate', 1e-4, 0.1)])).toEqual({
      ContinuousParameterRanges: [{ Name: 'learning_rate', MinValue: '0.0001', MaxValue: '0.1', ScalingType: 'Logarithmic' }],
    });
    expect(() => logRange('batch_size', 0, 64, 'integer')).toThrow('a log scale needs bounds above 0');
  });
});

describe('objectives', () => {
  it('knows the direction of each metric and maps to the fold mean with cross-validation', () => {
    expect(parseObjective('validation_loss', { crossValidated: false })).toEqual({ metric: 'validation_loss', goal: 'minimize' });
    expect(parseObjective('validation_rmse', { crossValidated: false })).toEqual({ metric: 'validation_rmse', goal: 'minimize' });
    expect(parseObjective('validation_accuracy', { crossValidated: false })).toEqual({ metric: 'validation_accuracy', goal: 'maximize' });
    expect(parseObjective('validation_accuracy', { crossValidated: true })).toEqual({ metric: 'cv_validation_accuracy_mean', goal: 'maximize' });
    expect(parseObjective('validation_loss', { crossValidated: true })).toEqual({ metric: 'cv_validation_loss_mean', goal: 'minimize' });
    expect(() => parseObjective('val_loss', { crossValidated: false })).toThrow("unknown objective 'val_loss'; choose one of");
    expect(() => parseObjective('epoch', { crossValidated: false })).toThrow("unknown objective 'epoch'");
    expect(() => parseObjective('cv_validation_loss_mean', { crossValidated: false })).toThrow('add --cv-folds k');
    expect(() => parseObjective('validation_rmse', { crossValidated: true })).toThrow('has none');
  });
});
