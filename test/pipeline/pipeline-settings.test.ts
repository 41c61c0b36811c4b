import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { namePrefixFor, pipelinePropsFromSettings } from '../../lib/pipeline/index.ts';

describe('pipeline settings from the app configuration', () => {
  it('derives a valid name prefix from the stack name', () => {
    expect(namePrefixFor('ModelStack')).toBe('modelstack');
    expect(namePrefixFor('Churn_Model-Production-EU')).toBe('churn-model-pr');
    expect(namePrefixFor('___')).toBe('modelstack');
  });

  it('maps JSON settings onto TrainingPipeline props', () => {
    const props = pipelinePropsFromSettings(
      { approval: 'automatic', maxRuntimeHours: 6, tuning: true, schedule: 'rate(7 days)', dataTrigger: '_SUCCESS', batchTransform: false },
      'ModelStack',
    );
    expect(props).toMatchObject({ namePrefix: 'modelstack', approval: 'automatic', tuning: {}, dataTrigger: { suffix: '_SUCCESS' }, batchTransform: false });
    expect(props.maxRuntime?.toSeconds()).toBe(Duration.hours(6).toSeconds());
    expect(props.schedule?.expressionString).toBe('rate(7 days)');
    expect(pipelinePropsFromSettings({ dataTrigger: false }, 'x').dataTrigger).toBe(false);
    expect(pipelinePropsFromSettings({}, 'x')).toMatchObject({ dataTrigger: {}, tuning: undefined });
  });
});
