import type { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { sageMakerArn } from '../sagemaker-arn.ts';

export interface DeploymentStatesProps {
  readonly endpointName: string;
  readonly pollInterval: Duration;
  /** Re-checks the artifact against the registry (the seal function, given `$.target`). */
  readonly verify: sfn.TaskStateBase;
  /** Creates the model and configuration and starts Create/UpdateEndpoint (the deploy function). */
  readonly deploy: sfn.TaskStateBase;
  /** Where a deployed model is announced. */
  readonly onDeployed: sfn.IChainable;
  /** The shared failure path (expects `$.error`). */
  readonly onFailure: sfn.IChainable;
}

/**
 * Verify -> deploy -> wait until the endpoint settles. Expects `$.target.modelPackageArn`.
 *
 * After UpdateEndpoint the endpoint is Updating; with blue/green it ends InService either on the
 * new configuration (deployed) or, when an alarm fired during the canary, back on the old one
 * (rolled back: a failure). Failed/OutOfService end the run as failures too.
 */
export function deploymentStates(scope: Construct, props: DeploymentStatesProps): sfn.IChainable {
  const wait = new sfn.Wait(scope, 'Wait for endpoint', { time: sfn.WaitTime.duration(props.pollInterval) });
  const describe = new tasks.CallAwsService(scope, 'Describe endpoint', {
    service: 'sagemaker',
    action: 'describeEndpoint',
    parameters: { EndpointName: props.endpointName },
    iamResources: [sageMakerArn(scope, 'endpoint', props.endpointName)],
    iamAction: 'sagemaker:DescribeEndpoint',
    resultSelector: { 'status.$': '$.EndpointStatus', 'endpointConfigName.$': '$.EndpointConfigName' },
    resultPath: '$.endpoint',
  });
  describe.addRetry({ errors: ['States.ALL'], maxAttempts: 3 });
  describe.addCatch(props.onFailure, { resultPath: '$.error' });

  const rolledBack = new sfn.Pass(scope, 'Deployment rolled back', {
    parameters: {
      Error: 'DeploymentRolledBack',
      'Cause.$': "States.Format('endpoint {} is back on {}: configuration {} was rolled back (an alarm fired during the canary, or the update failed)', $.deployment.endpointName, $.endpoint.endpointConfigName, $.deployment.endpointConfigName)",
    },
    resultPath: '$.error',
  }).next(props.onFailure);
  const endpointFailed = new sfn.Pass(scope, 'Endpoint failed', {
    parameters: {
      Error: 'EndpointFailed',
      'Cause.$': "States.Format('endpoint {} is {}; see DescribeEndpoint FailureReason', $.deployment.endpointName, $.endpoint.status)",
    },
    resultPath: '$.error',
  }).next(props.onFailure);

  const settled = new sfn.Choice(scope, 'Endpoint settled?')
    .when(
      sfn.Condition.and(
        sfn.Condition.stringEquals('$.endpoint.status', 'InService'),
        sfn.Condition.stringEqualsJsonPath('$.endpoint.endpointConfigName', '$.deployment.endpointConfigName'),
      ),
      props.onDeployed,
    )
    .when(sfn.Condition.stringEquals('$.endpoint.status', 'InService'), rolledBack)
    .when(
      sfn.Condition.or(
        sfn.Condition.stringEquals('$.endpoint.status', 'Failed'),
        sfn.Condition.stringEquals('$.endpoint.status', 'OutOfService'),
        sfn.Condition.stringEquals('$.endpoint.status', 'UpdateRollbackFailed'),
      ),
      endpointFailed,
    )
    .otherwise(wait);

  return props.verify.next(props.deploy).next(wait).next(describe).next(settled);
}
