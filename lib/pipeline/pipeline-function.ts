import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
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
}

/**
 * One pipeline step's Lambda function: the TypeScript handler in lambda/ bundled by esbuild
 * (locally, no Docker), on ARM64 and Node.js 24, with its own log group and a
 * role that may write only to that log group until the step grants it more.
 */
export class PipelineFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: logs to this function's group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `modelstack pipeline step: ${props.description}`,
    });
    logGroup.grantWrite(this.role);
    acknowledge(this.role, [{ finding: 'IAM5[Resource::*]', reason: COMMON_REASONS.xray }]);
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
    });
  }
}
