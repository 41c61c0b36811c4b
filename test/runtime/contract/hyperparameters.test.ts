import { describe, expect, it } from 'vitest';
import {
  HYPERPARAMETER_SPECS,
  HyperparameterError,
  formatHyperparameters,
  parseHyperparameters,
} from '../../../model-runtime/src/contract/hyperparameters.ts';
import { parseInputDataConfig } from '../../../model-runtime/src/contract/input-data-config.ts';

describe('parseHyperparameters', () => {
  it('fills every key with a default when hyperparameters.json is empty', () => {
    const hp = parseHyperparameters({});
    expect(hp).toMatchObject({
      algorithm: 'mlp',
      task: null,
      epochs: 100,
      batchSize: 32,
      learningRate: 1e-3,
      optimizer: 'adam',
      weightDecay: 0,
      gradClip: 0,
      hiddenSizes: [64, 64],
      earlyStoppingPatience: 10,
      cvFolds: 0,
      seed: 0,
      validationFraction: null,
    });
    // model.json lists the keys of its algorithm only: an mlp's, no text, CNN or recommender keys.
    const mlpKeys = Object.entries(HYPERPARAMETER_SPECS).filter(([, s]) => s.appliesTo.includes('mlp')).map(([name]) => name);
    expect(Object.keys(formatHyperparameters(hp))).toEqual(mlpKeys);
    expect(mlpKeys).toEqual(expect.arrayContaining(['algorithm', 'epochs', 'hidden_sizes', 'cv_folds', 'label_column']));
    for (const other of ['n_layer', 'conv_widths', 'embedding_dim', 'eval_steps', 'image_size']) expect(mlpKeys).not.toContain(other);
  });

  it('reads SageMaker strings into typed values, with defaults that follow the algorithm and optimizer', () => {
    const hp = parseHyperparameters({
      algorithm: 'logistic-regression',
      epochs: '20',
      batch_size: '"64"',
      optimizer: 'adamw',
      task: 'binary',
      label_column: 'species',
    });
    expect(hp).toMatchObject({ algorithm: 'logistic-regression', epochs: 20, batchSize: 64, learningRate: 1e-2, weightDecay: 0.01, labelColumn: 'species' });
    expect(parseHyperparameters({ algorithm: 'mlp', hidden_sizes: '128, 32', learning_rate: '3e-4' })).toMatchObject({
      hiddenSizes: [128, 32],
      learningRate: 3e-4,
    });
  });

  it('ignores the keys SageMaker adds itself', () => {
    expect(() =>
      parseHyperparameters({ sagemaker_program: 'x', sagemaker_region: 'eu-west-1', _tuning_objective_metric: 'validation:loss' }),
    ).not.toThrow();
  });

  it('names an unknown key and suggests the near miss', () => {
    expect(() => parseHyperparameters({ learning_rte: '0.1' })).toThrow(/unknown hyperparameter "learning_rte"; did you mean "learning_rate"\?/);
    expect(() => parseHyperparameters({ 'batch-size': '8' })).toThrow(/did you mean "batch_size"/);
    expect(() => parseHyperparameters({ colour: 'red' })).toThrow(/unknown hyperparameter "colour" Known: algorithm, task/);
  });

  it.each([
    ['epochs', '0', /epochs="0" is not allowed; expected integer 1 to 100000/],
    ['epochs', '2.5', /expected integer 1 to 100000/],
    ['batch_size', '', /batch_size="" is not allowed/],
    ['learning_rate', '0', /learning_rate="0" is not allowed; expected number > 0 and <= 10/],
    ['learning_rate', '0x10', /expected number > 0/],
    ['learning_rate', 'fast', /expected number > 0/],
    ['momentum', '1', /expected number >= 0 and < 1/],
    ['optimizer', 'rmsprop', /optimizer="rmsprop" is not allowed; expected sgd \| adam \| adamw/],
    ['hidden_sizes', '64,,64', /expected 1 to 16 comma-separated integers/],
    ['cv_folds', '1', /expected 0, or integer 2 to 100/],
    ['validation_fraction', '0.9', /expected number >= 0 and <= 0.5/],
    ['content_type', 'application/parquet', /content_type="application\/parquet" is not allowed/],
  ])('rejects %s=%j naming the allowed range', (name, value, message) => {
    expect(() => parseHyperparameters({ [name]: value })).toThrow(message);
  });

  it('rejects combinations that cannot work', () => {
    expect(() => parseHyperparameters({ algorithm: 'linear-regression', task: 'binary' })).toThrow(
      /linear-regression fits task=regression only/,
    );
    expect(() => parseHyperparameters({ algorithm: 'logistic-regression', task: 'regression' })).toThrow(/fits task=binary or multiclass/);
    expect(() => parseHyperparameters({ algorithm: 'linear-regression', hidden_sizes: '8' })).toThrow(
      'hyperparameter hidden_sizes does not apply to algorithm=linear-regression; it applies to algorithm=mlp only',
    );
  });

  it('gives the CNN classifiers batch normalisation off by default, a momentum in (0, 1], and refuses both keys elsewhere', () => {
    expect(parseHyperparameters({ algorithm: 'image-classifier' })).toMatchObject({ batchNorm: false, batchNormMomentum: 0.1 });
    expect(parseHyperparameters({ algorithm: 'audio-classifier', batch_norm: 'true', batch_norm_momentum: '1' })).toMatchObject({ batchNorm: true, batchNormMomentum: 1 });
    for (const momentum of ['0', '2']) {
      const parse = () => parseHyperparameters({ algorithm: 'image-classifier', batch_norm: 'true', batch_norm_momentum: momentum });
      expect(parse).toThrow(HyperparameterError);
      expect(parse).toThrow(`hyperparameter batch_norm_momentum="${momentum}" is not allowed; expected number > 0 and <= 1`);
    }
    expect(() => parseHyperparameters({ algorithm: 'image-classifier', batch_norm: 'yes' })).toThrow(/batch_norm="yes" is not allowed; expected true \| false/);
    expect(() => parseHyperparameters({ algorithm: 'image-classifier', batch_norm_momentum: '0.05' })).toThrow(/batch_norm_momentum applies with batch_norm=true only/);
    expect(() => parseHyperparameters({ algorithm: 'mlp', batch_norm: 'true' })).toThrow('hyperparameter batch_norm does not apply to algorithm=mlp; it applies to the CNN classifiers (image-classifier, audio-classifier) only');
  });

  it('rejects a value that is not a string or number', () => {
    expect(() => parseHyperparameters({ epochs: { n: 1 } })).toThrow(/epochs must be a string/);
    expect(() => parseHyperparameters([])).toThrow(/must be a JSON object/);
  });
});

describe('parseInputDataConfig', () => {
  it('reads each channel content type', () => {
    const config = parseInputDataConfig(
      JSON.stringify({ train: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated' }, validation: {} }),
    );
    expect(config.get('train')).toEqual({ contentType: 'text/csv', inputMode: 'File' });
    expect(config.get('validation')).toEqual({ contentType: null, inputMode: null });
  });

  it('refuses Pipe mode, which this runtime cannot read', () => {
    expect(() => parseInputDataConfig(JSON.stringify({ train: { TrainingInputMode: 'Pipe' } }))).toThrow(
      /channel train has TrainingInputMode Pipe; this runtime reads files, so use File or FastFile/,
    );
  });
});
