/**
 * Deploy step: puts an approved model package behind the endpoint.
 *
 * 1. The package must be Approved (ModelNotApprovedError otherwise: fail closed).
 * 2. Creates a SageMaker model (its container told the package's sealed manifest digest as
 *    MODEL_RUNTIME_EXPECTED_DIGEST, so it serves that archive and no other) and an endpoint configuration with deterministic names derived
 *    from the package ARN, so a retried step finds them instead of creating duplicates.
 * 3. First deployment (no endpoint yet): CreateEndpoint from the endpoint's spec, as the stack
 *    resolved it (lib/endpoint/resolve-endpoint-spec.ts) and CloudFormation would render it.
 *    Later deployments: the new configuration is the endpoint's current one with the model
 *    swapped (same variants, instance counts as now, data capture, KMS, async settings), and
 *    UpdateEndpoint rolls it out with the spec's blue/green deployment (canary traffic shifting,
 *    automatic rollback on the alarms).
 * The state machine then polls DescribeEndpoint until the endpoint is InService on the new
 * configuration (deployed) or back on the old one (rolled back).
 */
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelPackageCommand,
  UpdateEndpointCommand,
  type CreateEndpointConfigCommandInput,
  type DeploymentConfig,
  type DescribeEndpointCommandOutput,
  type ProductionVariant,
  type Tag,
} from '@aws-sdk/client-sagemaker';
import { ArtifactIntegrityError } from '../model-runtime/src/artifact/digest.ts';
import { digestProblem } from '../model-runtime/src/artifact/expected-digest.ts';
import { sageMakerClient } from './shared/aws-clients.ts';
import { EndpointBusyError, InvalidInputError, ModelNotApprovedError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { deploymentNames } from './shared/names.ts';
import { ENDPOINT_CONFIG_TAGS, PACKAGE_METADATA } from './shared/package-metadata.ts';
import { isAlreadyExists, isNotFound } from './shared/sagemaker-errors.ts';
import { modelContainerEnvironment, type DeploymentSpec, type EndpointDeploymentSpec, type VariantSpec } from '../lib/endpoint/endpoint-spec.ts';

export interface DeployEvent {
  readonly modelPackageArn: string;
  /** Prefix of the model and endpoint configuration names (the pipeline's IAM allows `<prefix>-*`). */
  readonly namePrefix: string;
  /** The role SageMaker assumes to run the model (pull the image, read model.tar.gz). */
  readonly modelExecutionRoleArn: string;
  readonly networkIsolation: boolean;
  readonly vpcConfig?: { readonly SecurityGroupIds: string[]; readonly Subnets: string[] };
  /**
   * The endpoint's settings, defaults applied. Its variant, key and capture are used only when the
   * endpoint does not exist yet (afterwards the current configuration is cloned); its deployment
   * settings roll every update out.
   */
  readonly endpoint: EndpointDeploymentSpec;
}

export type DeployAction = 'created' | 'updated' | 'in-progress' | 'unchanged';

export interface DeployResult {
  readonly endpointName: string;
  readonly endpointConfigName: string;
  readonly modelName: string;
  readonly action: DeployAction;
  /** The configuration served before this deployment (roll back to it); null on the first deployment. */
  readonly previousEndpointConfigName: string | null;
}

/** Endpoint states in which another change is still running: wait and retry. */
const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

const logger = createLogger('deploy');

export async function handler(event: DeployEvent): Promise<DeployResult> {
  validate(event);
  const client = sageMakerClient();
  const modelPackage = await client.send(new DescribeModelPackageCommand({ ModelPackageName: event.modelPackageArn }));
  if (modelPackage.ModelApprovalStatus !== 'Approved') {
    throw new ModelNotApprovedError(
      `model package ${event.modelPackageArn} is ${modelPackage.ModelApprovalStatus ?? 'without a status'}; only Approved packages are deployed`,
    );
  }
  const container = modelPackage.InferenceSpecification?.Containers?.[0];
  if (!container?.Image || !container.ModelDataUrl) {
    throw new InvalidInputError(`model package ${event.modelPackageArn} has no container image and ModelDataUrl`);
  }
  const metadata = modelPackage.CustomerMetadataProperties ?? {};
  const manifestDigest = metadata[PACKAGE_METADATA.manifestDigest];
  if (manifestDigest === undefined || digestProblem(manifestDigest) !== undefined) {
    throw new ArtifactIntegrityError(
      `model package ${event.modelPackageArn} records ${PACKAGE_METADATA.manifestDigest} ${JSON.stringify(manifestDigest ?? null)}, not a sealed digest: it was not sealed by this pipeline and will not be deployed`,
    );
  }
  const { modelName, endpointConfigName } = deploymentNames(event.namePrefix, event.modelPackageArn);
  const endpointName = event.endpoint.endpointName;
  const base = { endpointName, endpointConfigName, modelName };

  const endpoint = await describeEndpoint(endpointName);
  if (endpoint?.EndpointConfigName === endpointConfigName && endpoint.EndpointStatus === 'InService') {
    logger.info('endpoint already serves this model package', base);
    return { ...base, action: 'unchanged', previousEndpointConfigName: endpointConfigName };
  }
  if (endpoint && endpoint.PendingDeploymentSummary?.EndpointConfigName === endpointConfigName) {
    logger.info('deployment of this model package already in progress', base);
    return { ...base, action: 'in-progress', previousEndpointConfigName: endpoint.EndpointConfigName ?? null };
  }
  if (endpoint && BUSY.has(endpoint.EndpointStatus ?? '')) {
    throw new EndpointBusyError(`endpoint ${endpointName} is ${endpoint.EndpointStatus}; deploying once it is InService again`);
  }
  if (endpoint && endpoint.EndpointStatus !== 'InService') {
    throw new InvalidInputError(
      `endpoint ${endpointName} is ${endpoint.EndpointStatus} (${endpoint.FailureReason ?? 'no reason given'}); fix or delete it before deploying`,
    );
  }

  await ignoreAlreadyExists(() =>
    client.send(
      new CreateModelCommand({
        ModelName: modelName,
        ExecutionRoleArn: event.modelExecutionRoleArn,
        PrimaryContainer: { Image: container.Image, ModelDataUrl: container.ModelDataUrl, Environment: modelContainerEnvironment(manifestDigest) },
        EnableNetworkIsolation: event.networkIsolation,
        VpcConfig: event.vpcConfig,
      }),
    ),
  );

  const tags = configTags(event.modelPackageArn, metadata);
  const config = endpoint ? await cloneWithModel(endpoint, modelName) : firstConfig(event, modelName);
  await ignoreAlreadyExists(() => client.send(new CreateEndpointConfigCommand({ ...config, EndpointConfigName: endpointConfigName, Tags: tags })));

  if (!endpoint) {
    await client.send(new CreateEndpointCommand({ EndpointName: endpointName, EndpointConfigName: endpointConfigName }));
    logger.info('endpoint created', base);
    return { ...base, action: 'created', previousEndpointConfigName: null };
  }
  // Blue/green is not available for serverless variants; those are replaced all at once.
  const serverless = config.ProductionVariants?.some((variant) => variant.ServerlessConfig !== undefined) ?? false;
  await client.send(
    new UpdateEndpointCommand({
      EndpointName: endpointName,
      EndpointConfigName: endpointConfigName,
      DeploymentConfig: serverless ? undefined : deploymentConfig(event.endpoint.deployment),
    }),
  );
  logger.info('endpoint update started', { ...base, previousEndpointConfigName: endpoint.EndpointConfigName, blueGreen: !serverless });
  return { ...base, action: 'updated', previousEndpointConfigName: endpoint.EndpointConfigName ?? null };
}

async function describeEndpoint(endpointName: string): Promise<DescribeEndpointCommandOutput | null> {
  try {
    return await sageMakerClient().send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

type EndpointConfigInput = Omit<CreateEndpointConfigCommandInput, 'EndpointConfigName' | 'Tags'>;

/** The endpoint's current configuration with every variant serving `modelName`, at today's instance counts. */
async function cloneWithModel(endpoint: DescribeEndpointCommandOutput, modelName: string): Promise<EndpointConfigInput> {
  const current = await sageMakerClient().send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
  const running = new Map((endpoint.ProductionVariants ?? []).map((variant) => [variant.VariantName, variant]));
  const variants: ProductionVariant[] = (current.ProductionVariants ?? []).map((variant) => {
    // Autoscaling may have moved the count since the configuration was written: keep today's.
    const count = running.get(variant.VariantName)?.DesiredInstanceCount ?? running.get(variant.VariantName)?.CurrentInstanceCount;
    return { ...variant, ModelName: modelName, ...(variant.InstanceType && count ? { InitialInstanceCount: count } : {}) };
  });
  return {
    ProductionVariants: variants,
    DataCaptureConfig: current.DataCaptureConfig,
    KmsKeyId: current.KmsKeyId,
    AsyncInferenceConfig: current.AsyncInferenceConfig,
  };
}

/** The endpoint configuration of a first deployment: the spec's variant, key and capture, serving `modelName`. */
function firstConfig(event: DeployEvent, modelName: string): EndpointConfigInput {
  const { variant, kmsKeyId, dataCapture } = event.endpoint;
  return {
    ProductionVariants: [productionVariant(variant, modelName)],
    KmsKeyId: kmsKeyId,
    DataCaptureConfig: dataCapture && {
      EnableCapture: true,
      InitialSamplingPercentage: dataCapture.samplingPercentage,
      DestinationS3Uri: dataCapture.destinationS3Uri,
      KmsKeyId: dataCapture.kmsKeyId,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      // Without it SageMaker stores captured JSON and CSV base64-encoded.
      CaptureContentTypeHeader: { JsonContentTypes: [...dataCapture.jsonContentTypes], CsvContentTypes: [...dataCapture.csvContentTypes] },
    },
  };
}

function productionVariant(variant: VariantSpec, modelName: string): ProductionVariant {
  if (variant.kind === 'serverless') {
    return {
      VariantName: variant.variantName,
      ModelName: modelName,
      ServerlessConfig: { MemorySizeInMB: variant.memorySizeInMb, MaxConcurrency: variant.maxConcurrency, ProvisionedConcurrency: variant.provisionedConcurrency },
    };
  }
  return {
    VariantName: variant.variantName,
    ModelName: modelName,
    InstanceType: variant.instanceType as ProductionVariant['InstanceType'],
    InitialInstanceCount: variant.initialInstanceCount,
    InitialVariantWeight: 1,
  };
}

/** UpdateEndpoint's blue/green policy: canary capacity first, rolled back while an alarm fires. */
function deploymentConfig(deployment: DeploymentSpec): DeploymentConfig {
  return {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: {
        Type: 'CANARY',
        CanarySize: { Type: 'CAPACITY_PERCENT', Value: deployment.canaryPercent },
        WaitIntervalInSeconds: deployment.canaryWaitSeconds,
      },
      TerminationWaitInSeconds: deployment.terminationWaitSeconds,
    },
    AutoRollbackConfiguration:
      deployment.rollbackAlarmNames.length === 0 ? undefined : { Alarms: deployment.rollbackAlarmNames.map((AlarmName) => ({ AlarmName })) },
  };
}

/** Tags that let the evaluation gate compare the next candidate with this model. */
function configTags(modelPackageArn: string, metadata: Record<string, string>): Tag[] {
  const tags: Tag[] = [{ Key: ENDPOINT_CONFIG_TAGS.modelPackageArn, Value: modelPackageArn }];
  const metric = metadata[PACKAGE_METADATA.objectiveMetric];
  const value = metadata[PACKAGE_METADATA.objectiveValue];
  if (metric && value) {
    tags.push({ Key: ENDPOINT_CONFIG_TAGS.objectiveMetric, Value: metric }, { Key: ENDPOINT_CONFIG_TAGS.objectiveValue, Value: value });
  }
  return tags;
}

async function ignoreAlreadyExists(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

function validate(event: DeployEvent): void {
  const endpoint = event.endpoint;
  const missing: string[] = (['modelPackageArn', 'namePrefix', 'modelExecutionRoleArn'] as const).filter((field) => typeof event[field] !== 'string' || event[field] === '');
  if (typeof endpoint?.endpointName !== 'string' || endpoint.endpointName === '') missing.push('endpoint.endpointName');
  if (missing.length > 0) throw new InvalidInputError(`deploy needs ${missing.join(', ')}`);
  const variant = endpoint.variant;
  const variantProblem =
    variant?.kind === 'instances'
      ? !variant.instanceType || !Number.isInteger(variant.initialInstanceCount)
      : variant?.kind === 'serverless'
        ? !Number.isInteger(variant.memorySizeInMb) || !Number.isInteger(variant.maxConcurrency)
        : true;
  if (variantProblem || typeof variant.variantName !== 'string') {
    throw new InvalidInputError(
      `deploy needs endpoint.variant {kind: "instances", variantName, instanceType, initialInstanceCount} or {kind: "serverless", variantName, memorySizeInMb, maxConcurrency} for an endpoint that does not exist yet, got ${JSON.stringify(variant)}`,
    );
  }
  const deployment = endpoint.deployment;
  if (!Number.isInteger(deployment?.canaryPercent) || !Number.isInteger(deployment.canaryWaitSeconds) || !Number.isInteger(deployment.terminationWaitSeconds) || !Array.isArray(deployment.rollbackAlarmNames)) {
    throw new InvalidInputError(`deploy needs endpoint.deployment {canaryPercent, canaryWaitSeconds, terminationWaitSeconds, rollbackAlarmNames}, got ${JSON.stringify(deployment)}`);
  }
}
