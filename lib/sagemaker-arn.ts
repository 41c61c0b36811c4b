import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The ARN of a SageMaker resource known by name (the pipeline's jobs and models, an imported endpoint).
 * SageMaker writes resource names in lowercase inside ARNs, so patterns are lowercased too
 * (IAM compares ARNs case-sensitively).
 */
export function sageMakerArn(scope: IConstruct, resourceType: string, resourceName: string): string {
  const name = Token.isUnresolved(resourceName) ? resourceName : resourceName.toLowerCase();
  return Stack.of(scope).formatArn({ service: 'sagemaker', resource: resourceType, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
}

