import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import type { SnapshotSerializer } from 'vitest';

/**
 * Shared helpers for CDK tests: an App with cdk.json's context (a bare `new App()` does not
 * read cdk.json), no bundling, and no CloudFormation schema validation (about 10 s per synth;
 * one dedicated test keeps it on), plus a snapshot serializer that masks asset hashes.
 */

const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The `context` object of cdk.json: the feature flags the CLI would pass. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPOSITORY_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface TestAppOptions {
  /** Extra context, e.g. `{ modelstack: {...} }`. */
  readonly context?: Record<string, unknown>;
  /** Run aws-cdk-lib's CloudFormation schema validation at synth. @default false */
  readonly schemaValidation?: boolean;
}

/** An App as `cdk synth` would build it, minus bundling and (by default) schema validation. */
export function testApp(options: TestAppOptions = {}): App {
  return new App({
    context: {
      ...cdkJsonContext(),
      // No stack is bundled: NodejsFunction assets are not built in unit tests.
      'aws:cdk:bundling-stacks': [],
      ...options.context,
    },
    builtinCloudFormationValidation: options.schemaValidation ?? false,
  });
}

/** The synthesized template of `stack`. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** The logical ID of `construct`'s CloudFormation resource (its default child), to assert a reference to exactly it. */
export function logicalIdOf(construct: IConstruct): string {
  const resource = construct.node.defaultChild as CfnElement | undefined;
  if (resource === undefined) throw new Error(`${construct.node.path} has no CloudFormation resource of its own`);
  return Stack.of(construct).resolve(resource.logicalId) as string;
}

/** 64-hex-digit asset hashes (image tags, S3 keys) change with every source edit. */
const ASSET_HASH = /[0-9a-f]{64}/g;

/** Masks asset hashes in every string of a snapshot. */
export const assetHashSerializer: SnapshotSerializer = {
  test: (value: unknown) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string, config, indentation, depth, refs, printer) =>
    printer(value.replace(ASSET_HASH, '[ASSET_HASH]'), config, indentation, depth, refs),
};
