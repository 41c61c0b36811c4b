import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ManagedPolicyRole } from './managed-policy-role.ts';
import type { ModelStore } from './model-store.ts';
import type { RuntimeImage } from './runtime-image.ts';

export interface ModelExecutionRoleProps {
  /** The store the model is read from and captured data is written to. */
  readonly modelStore: ModelStore;

  /** The images the model's containers run; the role may pull exactly these. */
  readonly images: ReadonlyArray<RuntimeImage>;

  /**
   * Store prefixes the model may read (its artifact).
   * @default [modelStore.modelsPrefix]
   */
  readonly readPrefixes?: ReadonlyArray<string>;

  /**
   * Store prefixes the endpoint may write (data capture, asynchronous results).
   * @default [modelStore.capturePrefix, modelStore.inferencePrefix]
   */
  readonly writePrefixes?: ReadonlyArray<string>;

  /**
   * Whether the model runs in a VPC, which needs permission to manage its network interfaces.
   * @default false
   */
  readonly vpc?: boolean;
}

/**
 * The role a SageMaker model (and so an endpoint) runs as, with only what hosting needs:
 * pull the runtime image, read the model artifact, write captured data, use the store's key,
 * and write the endpoint's logs and metrics. Never AmazonSageMakerFullAccess.
 */
export class ModelExecutionRole extends Construct implements iam.IGrantable {
  readonly role: ManagedPolicyRole;
  readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: ModelExecutionRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const store = props.modelStore;
    this.role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        // Confused-deputy guard: only SageMaker acting for this account may assume the role.
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'modelstack: SageMaker model execution role (image pull, model read, capture write, logs, metrics)',
    });
    this.grantPrincipal = this.role;

    for (const image of props.images) image.grantPull(this.role);
    for (const prefix of props.readPrefixes ?? [store.modelsPrefix]) store.grantRead(this.role, prefix);
    for (const prefix of props.writePrefixes ?? [store.capturePrefix, store.inferencePrefix]) {
      store.grantWrite(this.role, prefix);
    }

    const logGroupArn = `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:/aws/sagemaker/Endpoints/*`;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EndpointLogs',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [logGroupArn, `${logGroupArn}:log-stream:*`],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EndpointMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
      }),
    );
    if (props.vpc === true) this.role.addToPrincipalPolicy(sageMakerVpcAccessStatement());
    this.acknowledgeWildcards(props);
    this.acknowledgePrefixes(store, props.readPrefixes ?? [store.modelsPrefix], 'read');
    this.acknowledgePrefixes(store, props.writePrefixes ?? [store.capturePrefix, store.inferencePrefix], 'write');
  }

  /** Each object-level grant is scoped to one prefix of the store: say so per prefix. */
  private acknowledgePrefixes(store: ModelStore, prefixes: ReadonlyArray<string>, access: 'read' | 'write'): void {
    const bucket = store.bucket.node.defaultChild as s3.CfnBucket;
    const logicalId = Stack.of(this).resolve(bucket.logicalId) as string;
    for (const prefix of prefixes) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`,
        reason: `Object-level ${access} access is limited to the ${prefix} prefix of the model store; object keys under it are created at run time (training job names, endpoint capture dates).`,
      });
    }
  }

  /** The ARN SageMaker is given as ExecutionRoleArn. */
  get roleArn(): string {
    return this.role.roleArn;
  }

  /** The customer-managed policies holding the role's statements: a CfnModel must wait for them (a dependency on `role` does). */
  get policies(): ReadonlyArray<iam.ManagedPolicy> {
    return this.role.policies;
  }

  private acknowledgeWildcards(props: ModelExecutionRoleProps): void {
    const acks: Array<{ id: string; reason: string }> = [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions (PutMetricData is limited by a cloudwatch:namespace condition to the SageMaker namespaces)' +
          (props.vpc === true ? '; SageMaker needs ec2:*NetworkInterface* and ec2:Describe* on * to attach the model to the VPC subnets it is given' : '') +
          '.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*]',
        reason: 'SageMaker names each endpoint log group /aws/sagemaker/Endpoints/<endpoint-name> at deploy time; the role is limited to that path.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*:log-stream:*]',
        reason: 'Log streams are created per instance under the endpoint log groups; the role is limited to that path.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:GetObject*]',
        reason: 'Bucket.grantRead: GetObject plus GetObjectVersion etc., limited to the model prefix of the store.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]',
        reason: 'Bucket.grantRead: GetBucketLocation and friends on the model store bucket only.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:List*]',
        reason: 'Bucket.grantRead: listing the model store bucket, needed to download the model artifact.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
        reason: 'Bucket.grantWrite includes DeleteObject*; limited to the capture/ and inference/ prefixes the endpoint writes.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::s3:Abort*]',
        reason: 'Bucket.grantWrite: aborting multipart uploads of captured data under capture/ and inference/ only.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Encrypting captured data and results with the model store key, which is the only key named.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason: 'Bucket.grantWrite on a KMS bucket: re-encryption with the model store key only.',
      },
    ];
    Validations.of(this.role).acknowledge(...acks);
  }
}

/**
 * What SageMaker needs to attach training or hosting containers to VPC subnets: manage their
 * network interfaces and describe the network. EC2 offers no resource-level scoping for the
 * Describe calls, and the interfaces do not exist before SageMaker creates them.
 */
export function sageMakerVpcAccessStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'VpcNetworkInterfaces',
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:CreateNetworkInterfacePermission',
      'ec2:DeleteNetworkInterface',
      'ec2:DeleteNetworkInterfacePermission',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeVpcs',
      'ec2:DescribeDhcpOptions',
      'ec2:DescribeSubnets',
      'ec2:DescribeSecurityGroups',
    ],
    resources: ['*'],
  });
}
