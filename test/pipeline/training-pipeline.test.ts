import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { METRIC_DEFINITIONS } from '../../model-runtime/src/contract/metrics.ts';
import { InferenceEndpoint } from '../../lib/endpoint/inference-endpoint.ts';
import { TrainingPipeline } from '../../lib/pipeline/index.ts';
import { actionsOf, awsManagedPoliciesOf, statementsOf } from './iam-statements.ts';
import { pipelineStack } from './pipeline-stack.ts';
import { stateMachineDefinition, type AslDefinition, type AslState } from './state-machine.ts';

/** The states reachable from `start` following Next, Default, Choices and Catch. */
function reachable(definition: AslDefinition, start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string | undefined): void => {
    if (name === undefined || seen.has(name)) return;
    seen.add(name);
    const state = definition.States[name]!;
    visit(state.Next);
    visit(state.Default);
    for (const choice of state.Choices ?? []) visit(choice.Next);
    for (const handler of state.Catch ?? []) visit(handler.Next);
  };
  visit(start);
  return seen;
}

describe('TrainingPipeline with defaults (single training job, manual approval)', () => {
  const { stack, pipeline } = pipelineStack();
  const template = Template.fromStack(stack);
  const definition = stateMachineDefinition(template, 'PipelineStateMachine');
  const states = definition.States;

  it('runs train -> seal -> evaluate -> register, and stops for approval', () => {
    expect(definition.StartAt).toBe('Deploy an approved package?');
    expect(states['Deploy an approved package?']!.Default).toBe('Prepare run');
    expect(states['Prepare run']!.Next).toBe('Train model');
    expect(states['Train model']!.Next).toBe('Seal artifact');
    expect(states['Seal artifact']!.Next).toBe('Evaluate model');
    expect(states['Evaluate model']!.Next).toBe('Good enough?');
    expect(states['Good enough?']!.Choices).toEqual([{ Variable: '$.evaluation.passed', BooleanEquals: true, Next: 'Register model' }]);
    expect(states['Good enough?']!.Default).toBe('Model rejected');
    expect(states['Register model']!.Parameters).toMatchObject({ approval: 'PendingManualApproval', modelPackageGroupName: 'churn' });
    expect(states['Approved?']!.Default).toBe('Notify awaiting approval');
    expect(states['Notify awaiting approval']!.Next).toBe('Awaiting approval');
    expect(states['Tune hyperparameters']).toBeUndefined();
  });

  it('deploys an approved package through verify -> deploy -> poll until the endpoint settles', () => {
    expect(states['Deploy an approved package?']!.Choices).toEqual([{ Variable: '$.modelPackageArn', IsPresent: true, Next: 'Deploy approved package' }]);
    expect(states['Deploy approved package']!.Next).toBe('Verify package');
    expect(states['Verify package']!.Parameters).toEqual({ 'modelPackageArn.$': '$.target.modelPackageArn' });
    expect(states['Verify package']!.Next).toBe('Deploy model');
    expect(states['Deploy model']!.Next).toBe('Wait for endpoint');
    expect(states['Wait for endpoint']).toMatchObject({ Type: 'Wait', Seconds: 60, Next: 'Describe endpoint' });
    expect(states['Describe endpoint']!.Resource).toBe('arn:${AWS::Partition}:states:::aws-sdk:sagemaker:describeEndpoint');
    const settled = states['Endpoint settled?']!;
    expect(settled.Choices!.map((choice) => choice.Next)).toEqual(['Notify deployed', 'Deployment rolled back', 'Endpoint failed']);
    expect(JSON.stringify(settled.Choices![0])).toContain('"StringEqualsPath":"$.deployment.endpointConfigName"');
    expect(settled.Default).toBe('Wait for endpoint');
    expect(states['Notify deployed']!.Next).toBe('Deployed');
    expect(states['Deployment rolled back']!.Next).toBe('Notify failure');
  });

  it('sends every failure, rejection and rollback to the topic before failing the execution', () => {
    const tasks = Object.entries(states).filter(([name, state]) => state.Type === 'Task' && !name.startsWith('Notify'));
    expect(tasks.length).toBeGreaterThanOrEqual(7);
    for (const [name, state] of tasks) {
      expect(state.Catch, name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Notify failure' }]);
    }
    expect(states['Model rejected']!.Next).toBe('Notify failure');
    expect(states['Notify failure']).toMatchObject({ Resource: 'arn:${AWS::Partition}:states:::sns:publish', Next: 'Failed' });
    expect(states['Notify failure']!.Parameters!.TopicArn).toMatch(/^\$\{NotificationsTopic/);
    expect(states.Failed).toEqual({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
    expect(reachable(definition, 'Train model')).toContain('Notify failure');
  });

  it('retries throttled steps with backoff and waits out a busy endpoint', () => {
    for (const name of ['Prepare run', 'Seal artifact', 'Evaluate model', 'Register model', 'Verify package', 'Deploy model']) {
      expect(states[name]!.Retry, name).toContainEqual({
        ErrorEquals: ['ThrottlingException', 'TooManyRequestsException', 'SlowDown', 'RequestLimitExceeded'],
        IntervalSeconds: 5,
        MaxAttempts: 6,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      });
    }
    expect(states['Deploy model']!.Retry).toContainEqual({ ErrorEquals: ['EndpointBusyError'], IntervalSeconds: 120, MaxAttempts: 30, BackoffRate: 1 });
  });

  it('trains on a GPU with managed spot, checkpoints in the store, the runtime\'s metric regexes and the store key', () => {
    const train = states['Train model']!;
    expect(train.Resource).toBe('arn:${AWS::Partition}:states:::sagemaker:createTrainingJob.sync');
    expect(train.Parameters).toMatchObject({
      'TrainingJobName.$': '$.run.trainingJobName',
      'HyperParameters.$': '$.run.hyperparameters',
      AlgorithmSpecification: { TrainingInputMode: 'File', MetricDefinitions: METRIC_DEFINITIONS },
      ResourceConfig: { InstanceType: 'ml.g5.2xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
      StoppingCondition: { MaxRuntimeInSeconds: 86_400, MaxWaitTimeInSeconds: 172_800 },
      EnableManagedSpotTraining: true,
      CheckpointConfig: { 'S3Uri.$': '$.run.checkpointUri', LocalPath: '/opt/ml/checkpoints' },
      OutputDataConfig: { 'S3OutputPath.$': '$.run.outputUri', KmsKeyId: expect.stringMatching(/^\$\{StoreKey.*\.Arn\}$/) },
      EnableNetworkIsolation: true,
      EnableInterContainerTrafficEncryption: true,
    });
    // g5 instances have NVMe instance storage, which SageMaker encrypts in hardware and for which it rejects a volume key.
    expect((train.Parameters!.ResourceConfig as Record<string, unknown>).VolumeKmsKeyId).toBeUndefined();
    expect(train.Parameters!.VpcConfig).toBeUndefined();
  });

  it('runs its steps as Lambda functions on Node.js 24, bundled from lambda/', () => {
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Handler: 'index.handler', Architectures: ['arm64'] }, 5);
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('MANIFEST.json'), Timeout: 900 });
  });

  it('lets the state machine create only this pipeline\'s jobs and pass only the training role', () => {
    const statements = statementsOf(template, 'PipelineStateMachineRole');
    const create = statements.find((statement) => actionsOf(statement).includes('sagemaker:CreateTrainingJob'))!;
    expect(JSON.stringify(create.Resource)).toContain(':training-job/churn-*');
    const passRole = statements.filter((statement) => actionsOf(statement).includes('iam:PassRole'));
    expect(passRole).toHaveLength(1);
    expect(passRole[0]).toMatchObject({ Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PipelineTrainingRole/), 'Arn'] }, Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } } });
    expect(statements.flatMap(actionsOf).some((action) => action.includes('HyperParameterTuningJob'))).toBe(false);
  });

  it('lets training jobs write their logs to /aws/sagemaker/TrainingJobs in the forms CloudWatch Logs authorizes', () => {
    // CloudWatch Logs authorizes group-level calls (DescribeLogStreams, CreateLogStream) against
    // `log-group:<name>:*` and PutLogEvents against `...:log-stream:<stream>`; the bare group ARN
    // alone matches neither, and the job would run without logs.
    const logs = statementsOf(template, 'PipelineTrainingRole').find((statement) => actionsOf(statement).includes('logs:PutLogEvents'))!;
    const resources = JSON.stringify(logs.Resource);
    expect(resources).toContain(':log-group:/aws/sagemaker/TrainingJobs:*');
    expect(resources).not.toMatch(/TrainingJobs\*|TrainingJobs\/\*/);
  });

  it('scopes each step to this stack\'s registry, models, configurations and endpoint', () => {
    const deploy = statementsOf(template, 'PipelineDeployModelRole');
    const resourcesFor = (action: string): string =>
      JSON.stringify(deploy.filter((statement) => actionsOf(statement).includes(action)).map((statement) => statement.Resource));
    expect(resourcesFor('sagemaker:UpdateEndpoint')).toContain(':endpoint/churn-endpoint');
    expect(resourcesFor('sagemaker:UpdateEndpoint')).toContain(':endpoint-config/churn-*');
    expect(resourcesFor('sagemaker:CreateModel')).toContain(':model/churn-*');
    expect(resourcesFor('sagemaker:DescribeModelPackage')).toContain(':model-package/churn/*');
    expect(resourcesFor('iam:PassRole')).toContain('EndpointExecutionRole');
    const allActions = ['Prepare', 'Seal', 'Evaluate', 'Register', 'Deploy', 'StateMachine', 'TrainingRole']
      .flatMap((role) => statementsOf(template, `Pipeline${role}`))
      .flatMap(actionsOf);
    expect(allActions.filter((action) => action.endsWith(':*') || action === '*')).toEqual([]);
    for (const [, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
      expect(awsManagedPoliciesOf(role)).toEqual([]);
    }
  });

  it('registers models in a retained package group named after the pipeline', () => {
    template.hasResource('AWS::SageMaker::ModelPackageGroup', { Properties: { ModelPackageGroupName: 'churn' }, DeletionPolicy: 'Retain' });
    expect(pipeline.modelPackageGroupName).toBe('churn');
  });

  it('starts on new data under data/ (EventBridge on the bucket) and on package approval', () => {
    template.hasResourceProperties('AWS::S3::Bucket', { NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } } });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { object: { key: [{ prefix: 'data/' }] } } },
      Targets: [Match.objectLike({ InputTransformer: { InputPathsMap: { 'detail-object-key': '$.detail.object.key' }, InputTemplate: '{"trigger":"s3","objectKey":<detail-object-key>}' } })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: ['churn'], ModelApprovalStatus: ['Approved'] },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.states'], detail: { status: ['TIMED_OUT', 'ABORTED'] } },
    });
  });
});

describe('TrainingPipeline with tuning, automatic approval, a schedule and a CPU instance', () => {
  const { stack } = pipelineStack({
    tuning: { maxJobs: 8, maxParallelJobs: 2 },
    approval: 'automatic',
    schedule: events.Schedule.rate(Duration.days(7)),
    instanceType: 'ml.m5.2xlarge',
    spot: false,
    dataTrigger: { suffix: '_SUCCESS' },
  });
  const template = Template.fromStack(stack);
  const states = stateMachineDefinition(template, 'PipelineStateMachine').States;

  it('chooses tuning or a single job from the run plan', () => {
    expect(states['Prepare run']!.Next).toBe('Tune or train?');
    expect(states['Tune or train?']!.Choices).toEqual([{ Variable: '$.run.mode', StringEquals: 'tune', Next: 'Tune hyperparameters' }]);
    expect(states['Tune hyperparameters']!.Next).toBe('Seal artifact');
  });

  it('tunes learning_rate and batch_size on a log scale against the runtime\'s validation_loss', () => {
    const tune: AslState = states['Tune hyperparameters']!;
    expect(tune.Resource).toBe('arn:${AWS::Partition}:states:::sagemaker:createHyperParameterTuningJob.sync');
    expect(tune.Parameters!.HyperParameterTuningJobConfig).toMatchObject({
      HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation_loss' },
      ResourceLimits: { MaxNumberOfTrainingJobs: 8, MaxParallelTrainingJobs: 2 },
      ParameterRanges: {
        ContinuousParameterRanges: [{ Name: 'learning_rate', MinValue: '0.0001', MaxValue: '0.1', ScalingType: 'Logarithmic' }],
        IntegerParameterRanges: [{ Name: 'batch_size', MinValue: '16', MaxValue: '512', ScalingType: 'Logarithmic' }],
      },
    });
    expect(tune.Parameters!.TrainingJobDefinition).toMatchObject({
      'StaticHyperParameters.$': '$.run.staticHyperparameters',
      AlgorithmSpecification: { MetricDefinitions: METRIC_DEFINITIONS },
      EnableManagedSpotTraining: false,
    });
    expect(tune.ResultSelector).toEqual({ 'trainingJobName.$': '$.BestTrainingJob.TrainingJobName' });
  });

  it('encrypts the volume with the store key on an instance type without NVMe storage, and waits no spot time', () => {
    const train = states['Train model']!;
    expect(train.Parameters!.ResourceConfig).toMatchObject({ InstanceType: 'ml.m5.2xlarge', VolumeKmsKeyId: expect.stringMatching(/^\$\{StoreKey/) });
    expect(train.Parameters!.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 86_400 });
  });

  it('registers Approved and deploys in the same run, with no approval rule', () => {
    expect(states['Register model']!.Parameters).toMatchObject({ approval: 'Approved' });
    expect(states['Approved?']!.Choices![0]!.Next).toBe('Deploy registered package');
    expect(JSON.stringify(template.findResources('AWS::Events::Rule'))).not.toContain('SageMaker Model Package State Change');
  });

  it('retrains on the schedule and only on marker objects', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(7 days)' });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { detail: { object: { key: [{ wildcard: 'data/*_SUCCESS' }] } } } });
  });

  it('lets the state machine run tuning jobs of this pipeline only', () => {
    const statements = statementsOf(template, 'PipelineStateMachineRole');
    const tuning = statements.find((statement) => actionsOf(statement).includes('sagemaker:CreateHyperParameterTuningJob'))!;
    expect(JSON.stringify(tuning.Resource)).toContain(':hyper-parameter-tuning-job/churn-*');
  });

  it('lets the tuning .sync integration list the training jobs of its tuning job', () => {
    // Step Functions' createHyperParameterTuningJob.sync calls ListTrainingJobsForHyperParameterTuningJob
    // while it waits; without it the state fails with AccessDenied once the tuning job runs.
    const statements = statementsOf(template, 'PipelineStateMachineRole');
    const tuning = statements.find((statement) => actionsOf(statement).includes('sagemaker:CreateHyperParameterTuningJob'))!;
    expect(actionsOf(tuning)).toEqual(expect.arrayContaining(['sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:StopHyperParameterTuningJob', 'sagemaker:ListTrainingJobsForHyperParameterTuningJob']));
  });
});

describe('TrainingPipeline spot wait', () => {
  it('keeps the default spot wait inside the execution timeout, so a long job is not cut off by its own run', () => {
    // maxRuntimeHours 120 (the app's maximum) used to default maxWait to 240 h, past the 7-day timeout.
    const { stack } = pipelineStack({ maxRuntime: Duration.hours(120) });
    const train = stateMachineDefinition(Template.fromStack(stack), 'PipelineStateMachine').States['Train model']!;
    const stopping = train.Parameters!.StoppingCondition as { MaxRuntimeInSeconds: number; MaxWaitTimeInSeconds: number };
    expect(stopping.MaxRuntimeInSeconds).toBe(432_000);
    expect(stopping.MaxWaitTimeInSeconds).toBeGreaterThanOrEqual(432_000);
    expect(stopping.MaxWaitTimeInSeconds).toBeLessThan(604_800);
  });
});

describe('TrainingPipeline validation', () => {
  it.each([
    ['an uppercase prefix', { namePrefix: 'Churn_Model' }, /TrainingPipeline\.namePrefix: must be lowercase letters/],
    ['a prefix too long for tuning job names', { namePrefix: 'a-very-long-prefix' }, /TrainingPipeline\.namePrefix/],
    ['an instance type without ml.', { instanceType: 'g5.2xlarge' }, /TrainingPipeline\.instanceType: must be a SageMaker ML instance type/],
    ['a burstable instance type', { instanceType: 'ml.t3.medium' }, /TrainingPipeline\.instanceType: burstable/],
    ['maxWait shorter than maxRuntime', { maxRuntime: Duration.hours(10), maxWait: Duration.hours(5) }, /TrainingPipeline\.maxWait: must be at least maxRuntime \(36000 s\)/],
    ['an objective the runtime does not print', { objective: { metric: 'f1' as never } }, /TrainingPipeline\.objective\.metric: must be a metric the runtime prints \(epoch, train_loss/],
    ['more parallel tuning jobs than jobs', { tuning: { maxJobs: 4, maxParallelJobs: 6 } }, /TrainingPipeline\.tuning\.maxParallelJobs: must be an integer from 1 to 4/],
    ['an inverted learning-rate range', { tuning: { learningRate: { min: 0.5, max: 0.1 } } }, /TrainingPipeline\.tuning\.learningRate\.min/],
    ['two training instances, which would each train the same model on all the data', { instanceCount: 2 }, /TrainingPipeline\.instanceCount: must be 1: the runtime trains on one instance .*every extra instance would train the same model on all the data again.*, got 2/],
    ['an unknown approval mode', { approval: 'sometimes' as never }, /TrainingPipeline\.approval: must be "automatic" or "manual"/],
    ['a poll interval under 10 s', { pollInterval: Duration.seconds(1) }, /TrainingPipeline\.pollInterval \(seconds\): must be an integer from 10 to 3600/],
    ['a spot wait the execution timeout cuts off', { maxWait: Duration.days(10) }, /TrainingPipeline\.maxWait: a training job may take up to 864000 s, but TrainingPipeline\.timeout stops the execution after 604800 s/],
    ['a hyperparameter of another algorithm', { hyperparameters: { algorithm: 'mlp', n_layer: '4' } }, /TrainingPipeline\.hyperparameters: hyperparameter n_layer does not apply to algorithm=mlp; it applies to the text models/],
    ['a hyperparameter out of range', { hyperparameters: { learning_rate: '-1' } }, /TrainingPipeline\.hyperparameters: hyperparameter learning_rate="-1" is not allowed; expected number > 0 and <= 10/],
    ['a misspelt hyperparameter', { hyperparameters: { learning_rte: '0.1' } }, /TrainingPipeline\.hyperparameters: unknown hyperparameter "learning_rte"; did you mean "learning_rate"\?/],
    ['an on-demand run longer than the execution timeout', { spot: false, maxRuntime: Duration.days(8) }, /TrainingPipeline\.maxRuntime: a training job may take up to 691200 s, but TrainingPipeline\.timeout stops the execution after 604800 s/],
  ] as const)('rejects %s, naming the prop', (_case, overrides, message) => {
    expect(() => pipelineStack(overrides)).toThrow(message);
  });
});

describe('TrainingPipeline endpoint and spec', () => {
  it('refuses the spec of another endpoint, naming both', () => {
    const { stack, modelStore, image, endpoint, topic } = pipelineStack();
    expect(
      () =>
        new TrainingPipeline(stack, 'Other', {
          modelStore,
          image,
          endpoint: InferenceEndpoint.fromEndpointName(stack, 'OtherEndpoint', 'other-endpoint'),
          endpointSpec: endpoint.spec,
          modelRole: endpoint.role.role,
          notificationTopic: topic,
          namePrefix: 'other',
        }),
    ).toThrow(/TrainingPipeline\.endpointSpec: describes endpoint "churn-endpoint", but TrainingPipeline\.endpoint is "other-endpoint"/);
  });
});

