/**
 * Deploy step: puts an approved model package behind the endpoint.
 *
 * 1. The package must be Approved (ModelNotApprovedError otherwise: fail closed).
 * 2. Creates a SageMaker model and an endpoint configuration with deterministic names derived
 *    from the package ARN, so a retried step finds them instead of creating duplicates.
 * 3. First deployment (no endpoint yet): CreateEndpoint from the configured instance settings.
 *    Later deployments: the new configuration is the endpoint's current one with the model
 *    swapped (same variants, instance counts as now, data capture, KMS, async settings), and
 *    UpdateEndpoint rolls it out with the blue/green DeploymentConfig (canary traffic shifting,
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
import { sageMakerClient } from './shared/aws-clients.ts';
import { EndpointBusyError, InvalidInputError, ModelNotApprovedError } from './shared/errors.ts';
import { createLogger } from './shared/logger.ts';
import { deploymentNames } from './shared/names.ts';
import { ENDPOINT_CONFIG_TAGS, PACKAGE_METADATA } from './shared/package-metadata.ts';
import { isAlreadyExists, isNotFound } from './shared/sagemaker-errors.ts';
import { CAPTURE_CSV_CONTENT_TYPES, CAPTURE_JSON_CONTENT_TYPES } from '../model-runtime/src/contract/capture-content-types.ts';

export interface DeployEvent {
  readonly modelPackageArn: string;
  readonly endpointName: string;
  /** Prefix of the model and endpoint configuration names (the pipeline's IAM allows `<prefix>-*`). */
  readonly namePrefix: string;
  /** The role SageMaker assumes to run the model (pull the image, read model.tar.gz). */
  readonly modelExecutionRoleArn: string;
  readonly networkIsolation: boolean;
  readonly vpcConfig?: { readonly SecurityGroupIds: string[]; readonly Subnets: string[] };
  /** Used only when the endpoint does not exist yet; afterwards the current configuration is cloned. */
  readonly firstDeployment: {
    /** @default 'AllTraffic' */
    readonly variantName?: string;
    readonly instanceType: string;
    readonly initialInstanceCount: number;
    readonly kmsKeyId?: string;
    readonly dataCapture?: { readonly destinationS3Uri: string; readonly samplingPercentage: number; readonly kmsKeyId?: string };
  };
  /** Blue/green traffic shifting and auto-rollback alarms for UpdateEndpoint. */
  readonly deploymentConfig: DeploymentConfig;
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
  const { modelName, endpointConfigName } = deploymentNames(event.namePrefix, event.modelPackageArn);
  const base = { endpointName: event.endpointName, endpointConfigName, modelName };

  const endpoint = await describeEndpoint(event.endpointName);
  if (endpoint?.EndpointConfigName === endpointConfigName && endpoint.EndpointStatus === 'InService') {
    logger.info('endpoint already serves this model package', base);
    return { ...base, action: 'unchanged', previousEndpointConfigName: endpointConfigName };
  }
  if (endpoint && endpoint.PendingDeploymentSummary?.EndpointConfigName === endpointConfigName) {
    logger.info('deployment of this model package already in progress', base);
    return { ...base, action: 'in-progress', previousEndpointConfigName: endpoint.EndpointConfigName ?? null };
  }
  if (endpoint && BUSY.has(endpoint.EndpointStatus ?? '')) {
    throw new EndpointBusyError(`endpoint ${event.endpointName} is ${endpoint.EndpointStatus}; deploying once it is InService again`);
  }
  if (endpoint && endpoint.EndpointStatus !== 'InService') {
    throw new InvalidInputError(
      `endpoint ${event.endpointName} is ${endpoint.EndpointStatus} (${endpoint.FailureReason ?? 'no reason given'}); fix or delete it before deploying`,
    );
  }

  await ignoreAlreadyExists(() =>
    client.send(
      new CreateModelCommand({
        ModelName: modelName,
        ExecutionRoleArn: event.modelExecutionRoleArn,
        PrimaryContainer: { Image: container.Image, ModelDataUrl: container.ModelDataUrl },
        EnableNetworkIsolation: event.networkIsolation,
        VpcConfig: event.vpcConfig,
      }),
    ),
  );

  const tags = configTags(event.modelPackageArn, modelPackage.CustomerMetadataProperties ?? {});
  const config = endpoint ? await cloneWithModel(endpoint, modelName) : firstConfig(event, modelName);
  await ignoreAlreadyExists(() => client.send(new CreateEndpointConfigCommand({ ...config, EndpointConfigName: endpointConfigName, Tags: tags })));

  if (!endpoint) {
    await client.send(new CreateEndpointCommand({ EndpointName: event.endpointName, EndpointConfigName: endpointConfigName }));
    logger.info('endpoint created', base);
    return { ...base, action: 'created', previousEndpointConfigName: null };
  }
  // Blue/green is not available for serverless variants; those are replaced all at once.
  const serverless = config.ProductionVariants?.some((variant) => variant.ServerlessConfig !== undefined) ?? false;
  await client.send(
    new UpdateEndpointCommand({
      EndpointName: event.endpointName,
      EndpointConfigName: endpointConfigName,
      DeploymentConfig: serverless ? undefined : event.deploymentConfig,
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

function firstConfig(event: DeployEvent, modelName: string): EndpointConfigInput {
  const { variantName, instanceType, initialInstanceCount, kmsKeyId, dataCapture } = event.firstDeployment;
  return {
    ProductionVariants: [
      { VariantName: variantName ?? 'AllTraffic', ModelName: modelName, InstanceType: instanceType as ProductionVariant['InstanceType'], InitialInstanceCount: initialInstanceCount, InitialVariantWeight: 1 },
    ],
    KmsKeyId: kmsKeyId,
    DataCaptureConfig: dataCapture && {
      EnableCapture: true,
      InitialSamplingPercentage: dataCapture.samplingPercentage,
      DestinationS3Uri: dataCapture.destinationS3Uri,
      KmsKeyId: dataCapture.kmsKeyId,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      // Without it SageMaker stores captured JSON and CSV base64-encoded.
      CaptureContentTypeHeader: { JsonContentTypes: [...CAPTURE_JSON_CONTENT_TYPES], CsvContentTypes: [...CAPTURE_CSV_CONTENT_TYPES] },
    },
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
  const missing = (['modelPackageArn', 'endpointName', 'namePrefix', 'modelExecutionRoleArn'] as const).filter(
    (field) => typeof event[field] !== 'string' || event[field] === '',
  );
  if (missing.length > 0) throw new InvalidInputError(`deploy needs ${missing.join(', ')}`);
  if (!event.firstDeployment?.instanceType || !Number.isInteger(event.firstDeployment.initialInstanceCount)) {
    throw new InvalidInputError('deploy needs firstDeployment {instanceType, initialInstanceCount} for an endpoint that does not exist yet');
  }
}
