import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { sageMakerVpcAccessStatement } from '../model-execution-role.ts';
import { ManagedPolicyRole } from '../managed-policy-role.ts';
import type { ModelStore } from '../model-store.ts';
import type { RuntimeImage } from '../runtime-image.ts';
import { COMMON_REASONS, acknowledge, actionFinding, resourceFinding } from './nag-findings.ts';

export interface TrainingRoleProps {
  readonly modelStore: ModelStore;
  readonly image: RuntimeImage;
  /**
   * Whether training jobs run in a VPC (SageMaker then manages network interfaces in it).
   * @default false
   */
  readonly vpc?: boolean;
}

/**
 * The role SageMaker training (and tuning) jobs run as: read the data prefix, write artifacts to
 * the models prefix, sync checkpoints, pull the runtime image, write logs and metrics. Nothing
 * else in the store, never AmazonSageMakerFullAccess.
 */
export class TrainingRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TrainingRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const store = props.modelStore;
    // CloudWatch Logs authorizes group-level calls against `log-group:<name>:*` and PutLogEvents
    // against `log-group:<name>:log-stream:<stream>`: one `:*` pattern covers both, for this group only.
    const streams = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/TrainingJobs:*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'modelstack: SageMaker training job role (data read, model and checkpoint write, image pull, logs, metrics)',
    });
    props.image.grantPull(this.role);
    store.grantRead(this.role, store.dataPrefix);
    store.grantWrite(this.role, store.modelsPrefix);
    store.grantReadWrite(this.role, store.checkpointsPrefix);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [
          stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/TrainingJobs', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          streams,
        ],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
    // Training volumes and outputs are encrypted with the store key: SageMaker creates grants on it for the job.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [store.key.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
    if (props.vpc === true) this.role.addToPrincipalPolicy(sageMakerVpcAccessStatement());
    acknowledge(this.role, [
      {
        finding: 'IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions (PutMetricData is limited to the /aws/sagemaker/* namespaces by condition)' +
          (props.vpc === true ? '; SageMaker needs the ec2 network-interface actions on * to attach training instances to the given subnets.' : '.'),
      },
      { finding: resourceFinding(this, streams), reason: 'SageMaker names one log stream per training instance (<job>/algo-N-<time>) in /aws/sagemaker/TrainingJobs; `:*` is how CloudWatch Logs names that group and its streams in IAM, and the role is limited to that group.' },
      { finding: resourceFinding(this, store.bucket.arnForObjects(`${store.dataPrefix}*`)), reason: 'Training reads every object under the data prefix it is given; nothing else in the store.' },
      { finding: resourceFinding(this, store.bucket.arnForObjects(`${store.modelsPrefix}*`)), reason: 'SageMaker writes <job>/output/model.tar.gz under the models prefix; job names are chosen per run.' },
      { finding: resourceFinding(this, store.bucket.arnForObjects(`${store.checkpointsPrefix}*`)), reason: 'Checkpoints are synced to and restored from checkpoints/<job>/ for managed spot resume.' },
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*'].map((action) => ({ finding: actionFinding(action), reason: COMMON_REASONS.bucketRead })),
      ...['s3:Abort*', 's3:DeleteObject*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({ finding: actionFinding(action), reason: COMMON_REASONS.bucketWrite })),
    ]);
  }
}
