/**
 * The compliance figures an auditor asks for, on every configuration the tests synthesize:
 * cdk-nag's HIPAA Security, NIST 800-53 rev 5, PCI DSS 3.2.1 and Serverless packs report no
 * finding without an acknowledgement, and AWS Control Tower's proactive controls fail on
 * exactly the resources the README's exemption table names. Each configuration is synthesized
 * once and every check runs on that one synthesis.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type App, CfnElement, type CfnResource, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/build-app.ts';
import type { ModelStackSettings } from '../../lib/model-stack-settings.ts';
import type { ModelStore } from '../../lib/model-store.ts';
import type { TrainingPipeline } from '../../lib/pipeline/index.ts';
import { testApp } from '../helpers/cdk.ts';
import { pipelineStack } from '../pipeline/pipeline-stack.ts';
import { checkControlTower, type ControlTowerResult } from './control-tower.ts';

const MODEL = 's3://modelstack-models/models/job-1/output/model.tar.gz';
const VPC = { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'] };

interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly modelStore: ModelStore;
  readonly pipeline: TrainingPipeline;
}

interface Configuration {
  readonly name: string;
  readonly synthesize: () => Synthesized;
  /** Construct paths the configuration's test scaffolding adds (not this project's constructs). */
  readonly scaffolding?: RegExp;
  /** Whether the stack has a VPC (its Lambda steps then run in it). */
  readonly vpc: boolean;
}

function modelStack(settings: ModelStackSettings): Synthesized {
  const stack = buildApp(testApp({ context: { modelstack: settings } }));
  return { app: stack.node.root as App, stack, modelStore: stack.modelStore, pipeline: stack.pipeline! };
}

const CONFIGURATIONS: ReadonlyArray<Configuration> = [
  { name: 'ModelStack: GPU endpoint (modelDataUrl) with the pipeline and e-mail alarms', synthesize: () => modelStack({ modelDataUrl: MODEL, alarmEmail: 'ops@example.com' }), vpc: false },
  { name: 'ModelStack: before the first model (the pipeline creates the endpoint)', synthesize: () => modelStack({}), vpc: false },
  { name: 'ModelStack: asynchronous CPU endpoint in a VPC', synthesize: () => modelStack({ modelDataUrl: MODEL, instanceType: 'ml.m5.large', asyncInference: true, vpc: VPC }), vpc: true },
  { name: 'ModelStack: serverless endpoint', synthesize: () => modelStack({ modelDataUrl: MODEL, serverless: { memorySizeInMb: 3072 } }), vpc: false },
  {
    name: 'TrainingPipeline with tuning, automatic approval and a VPC',
    synthesize: () => pipelineStack({ tuning: {}, approval: 'automatic' }, {}, true),
    // The test's own VPC, and the latency alarm it hands the endpoint.
    scaffolding: /^Pipeline\/(Vpc|LatencyAlarm|Custom::VpcRestrictDefaultSG)/,
    vpc: true,
  },
];

const PACKS = [HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks];

/** The README's Control Tower exemptions: `| CT.S3.PR.9 | ModelStore.bucket | ...` rows, as [control, construct]. */
function readmeExemptions(): Array<[string, string]> {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| (CT\.[A-Z0-9]+\.PR\.\d+) \| `([^`]+)` \|/gm)].map((match) => [match[1]!, match[2]!]);
}

const resourcePath = (construct: IConstruct): string => (construct.node.defaultChild as CfnResource).node.path;

/** The resources each construct named in the README's exemption table stands for. */
const EXEMPTED_CONSTRUCTS: Record<string, (synthesized: Synthesized) => string[]> = {
  'ModelStore.accessLogsBucket': ({ modelStore }) => [resourcePath(modelStore.accessLogsBucket)],
  'ModelStore.bucket': ({ modelStore }) => [resourcePath(modelStore.bucket)],
  'TrainingPipeline.functions': ({ pipeline }) => Object.values(pipeline.functions).map((step) => resourcePath(step.function)),
};

/** What a configuration is expected to fail: every README exemption, the Lambda VPC one only where the stack has no VPC. */
function expectedFailures(configuration: Configuration, synthesized: Synthesized): string[] {
  return readmeExemptions()
    .filter(([control]) => !(control === 'CT.LAMBDA.PR.3' && configuration.vpc))
    .flatMap(([control, construct]) => {
      const resources = EXEMPTED_CONSTRUCTS[construct];
      if (resources === undefined) throw new Error(`README exempts ${control} for ${construct}, which is none of ${Object.keys(EXEMPTED_CONSTRUCTS).join(', ')}`);
      return resources(synthesized).map((resource) => `${control} at ${resource}`);
    })
    .sort();
}

describe.each(CONFIGURATIONS)('$name', (configuration) => {
  let synthesized: Synthesized;
  let controlTower: ControlTowerResult;

  beforeAll(() => {
    synthesized = configuration.synthesize();
    const assembly = synthesized.app.synth();
    const paths = new Map<string, string>();
    for (const construct of synthesized.stack.node.findAll()) {
      if (CfnElement.isCfnElement(construct)) paths.set(synthesized.stack.resolve(construct.logicalId) as string, construct.node.path);
    }
    controlTower = checkControlTower(assembly.getStackArtifact(synthesized.stack.artifactId).templateFullPath, (id) => paths.get(id) ?? id);
  });

  const own = (line: string): boolean => configuration.scaffolding === undefined || !configuration.scaffolding.test(line.split(' at ')[1]!);
  /** Passed on every resource, or failed only on the test's own scaffolding (its alarm without action, its VPC's custom resource). */
  const passesOnOwnResources = (control: string): boolean => {
    const failedOn = controlTower.failures.filter((line) => line.startsWith(`${control} at `));
    return failedOn.length === 0 ? controlTower.passed.includes(control) : !failedOn.some(own);
  };

  it.each(PACKS.map((Pack) => [new Pack().readPackName, Pack] as const))('leaves no %s finding unacknowledged', (_pack, Pack) => {
    const report = new Pack().validateScope(synthesized.stack);
    const findings = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${(resource as { constructPath?: string }).constructPath ?? resource.resourceLogicalId}`),
    );
    expect(findings.filter(own)).toEqual([]);
  });

  it('fails exactly the Control Tower controls the README exempts, on exactly the resources it names', () => {
    expect(controlTower.failures.filter(own)).toEqual(expectedFailures(configuration, synthesized));
  });

  it('passes the controls for log group encryption and retention, KMS rotation and grants, alarm actions, Step Functions logging and tracing, SQS encryption', () => {
    for (const control of ['CT.CLOUDWATCH.PR.1', 'CT.CLOUDWATCH.PR.2', 'CT.CLOUDWATCH.PR.3', 'CT.KMS.PR.1', 'CT.KMS.PR.3', 'CT.STEPFUNCTIONS.PR.1', 'CT.STEPFUNCTIONS.PR.2', 'CT.SQS.PR.2']) {
      expect(passesOnOwnResources(control), control).toBe(true);
    }
    if (configuration.vpc) expect(passesOnOwnResources('CT.LAMBDA.PR.3')).toBe(true);
  });
});

describe('Control Tower exemptions in the README', () => {
  it('names each control with the construct it exempts, and nothing the stacks pass', () => {
    expect(readmeExemptions()).toEqual([
      ['CT.S3.PR.2', 'ModelStore.accessLogsBucket'],
      ['CT.S3.PR.9', 'ModelStore.accessLogsBucket'],
      ['CT.S3.PR.9', 'ModelStore.bucket'],
      ['CT.S3.PR.10', 'ModelStore.accessLogsBucket'],
      ['CT.LAMBDA.PR.3', 'TrainingPipeline.functions'],
    ]);
  });
});
