import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeRule } from '../compliance-findings.ts';
import { ManagedPolicyRole } from '../managed-policy-role.ts';
import { COMMON_REASONS, acknowledge } from './nag-findings.ts';

/** The repository root: lambda/ and the lockfile esbuild resolves against. */
const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface PipelineFunctionProps {
  /** The handler file in lambda/, e.g. `seal-artifact.ts`. */
  readonly entry: string;
  readonly description: string;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** The customer-managed key the function's log group is encrypted with. */
  readonly logsKey: kms.IKey;
  /**
   * The subnets and security groups the function runs in: the stack's VPC, when it has one.
   * @default not in a VPC
   */
  readonly network?: PipelineFunctionNetwork;
  /**
   * Concurrent executions reserved for (and the most allowed to) this function.
   * @default none: the function uses the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
}

/** Where a pipeline step runs when the stack has a VPC. */
export interface PipelineFunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: ReadonlyArray<ec2.ISubnet>;
  readonly securityGroups: ReadonlyArray<ec2.ISecurityGroup>;
}

/**
 * What Lambda needs to attach a function to VPC subnets (AWSLambdaVPCAccessExecutionRole's
 * actions, as a statement of the function's own policy): the interfaces do not exist before
 * Lambda creates them, and EC2 has no resource-level scoping for DescribeNetworkInterfaces.
 */
function lambdaVpcAccessStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'LambdaVpcNetworkInterfaces',
    actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
    resources: ['*'],
  });
}

/**
 * One pipeline step's Lambda function: the TypeScript handler in lambda/ bundled by esbuild
 * (locally, no Docker), on ARM64 and Node.js 24, with its own KMS-encrypted log group, in the
 * stack's VPC when it has one, and a role (customer-managed policies) that may write only to
 * that log group until the step grants it more.
 */
export class PipelineFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logsKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: logs to this function's group only.
    this.role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `modelstack pipeline step: ${props.description}`,
    });
    logGroup.grantWrite(this.role);
    const network = props.network;
    if (network !== undefined) this.role.addToPrincipalPolicy(lambdaVpcAccessStatement());
    acknowledge(this.role, [
      {
        finding: 'IAM5[Resource::*]',
        reason: network === undefined ? COMMON_REASONS.xray : `${COMMON_REASONS.xray} Lambda needs the ec2 network-interface actions on * to attach the function to the VPC subnets it is given.`,
      },
    ]);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(REPOSITORY_ROOT, 'lambda', props.entry),
      projectRoot: REPOSITORY_ROOT,
      depsLockFilePath: path.join(REPOSITORY_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout ?? Duration.minutes(1),
      memorySize: props.memorySize ?? 256,
      role: this.role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // ESM bundles that pull in CommonJS dependencies (tar's minipass, the SDK) need `require`.
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
      environment: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'modelstack-pipeline' },
      ...(network === undefined ? {} : { vpc: network.vpc, vpcSubnets: { subnets: [...network.subnets] }, securityGroups: [...network.securityGroups] }),
      reservedConcurrentExecutions: props.reservedConcurrency,
    });
    acknowledgeRule(
      this.function,
      'LambdaDLQ',
      'The state machine invokes this step synchronously (LambdaInvoke, RequestResponse); a Lambda dead-letter queue receives only failed asynchronous invocations, so it would never hold anything. A failed step is caught by the state machine and published to the notification topic.',
    );
    if (network === undefined) {
      acknowledgeRule(
        this.function,
        'LambdaInsideVPC',
        'The stack was given no VPC (ModelStack setting `vpc`, TrainingPipeline.vpc); given one, this step runs in its subnets with the training jobs\' security groups.',
      );
    }
    if (props.reservedConcurrency === undefined) {
      acknowledgeRule(
        this.function,
        'LambdaConcurrency',
        'No reserved concurrency unless TrainingPipeline.reservedConcurrency is set: a reservation is taken out of the account\'s unreserved pool and fails to deploy in accounts at the minimum concurrency quota (new accounts have 10), and a step runs once per pipeline execution, so it cannot starve other functions.',
      );
    }
  }
}
