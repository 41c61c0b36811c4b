/**
 * Runs AWS Control Tower's proactive controls (the cfn-guard rules that
 * @cdklabs/cdk-validator-cfnguard bundles with the cfn-guard binary; nothing is downloaded)
 * over a synthesized template, and reports each failing control as `CT.S3.PR.9 at <construct path>`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const PACKAGE_ROOT = path.dirname(createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
const RULES_ROOT = path.join(PACKAGE_ROOT, 'rules', 'control-tower', 'cfn-guard');
const GUARD = path.join(PACKAGE_ROOT, 'bin', os.platform() === 'darwin' ? 'macos' : 'ubuntu', os.arch() === 'arm64' ? 'aarch64' : 'x86_64', 'cfn-guard');

/** The services whose controls the stack is checked against (the package has no SNS rules). */
export const CONTROL_TOWER_SERVICES = ['s3', 'keymanagementservice', 'lambda', 'cloudwatch', 'sagemaker', 'stepfunctions', 'sqs'] as const;

export interface ControlTowerResult {
  /** Failing controls as `<control id> at <construct path>`, sorted. */
  readonly failures: string[];
  /** Control ids that applied to some resource of the template and passed for all of them. */
  readonly passed: string[];
  /** Control ids with no resource of their type in the template. */
  readonly notApplicable: string[];
}

/** Rule name (as guard reports it) to control id (`CT.S3.PR.9`), read from the rule files. */
function controlIdsByRule(): Map<string, string> {
  const ids = new Map<string, string>();
  for (const service of CONTROL_TOWER_SERVICES) {
    for (const file of fs.readdirSync(path.join(RULES_ROOT, service))) {
      const text = fs.readFileSync(path.join(RULES_ROOT, service, file), 'utf8');
      const rule = /^rule (\w+) when/m.exec(text)?.[1];
      const control = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(text)?.[1];
      if (rule === undefined || control === undefined) throw new Error(`${file}: no rule name or control id found`);
      ids.set(rule, control);
    }
  }
  return ids;
}

/** Logical ids of the resources a guard result names (every `/Resources/<id>/...` path in it). */
function resourcesNamedIn(result: unknown): Set<string> {
  const ids = new Set<string>();
  JSON.stringify(result, (key, value: unknown) => {
    if (key === 'path' && typeof value === 'string' && value.startsWith('/Resources/')) ids.add(value.split('/')[2]!);
    return value;
  });
  return ids;
}

interface GuardFileResult {
  readonly not_compliant?: ReadonlyArray<{ readonly Rule: { readonly name: string } }>;
  readonly compliant?: ReadonlyArray<string>;
  readonly not_applicable?: ReadonlyArray<string>;
}

/** Checks `templatePath` against every control of CONTROL_TOWER_SERVICES; `pathOf` names a resource by its construct path. */
export function checkControlTower(templatePath: string, pathOf: (logicalId: string) => string): ControlTowerResult {
  const controls = controlIdsByRule();
  const control = (rule: string): string => {
    const id = controls.get(rule);
    if (id === undefined) throw new Error(`cfn-guard reported rule ${rule}, which no rule file of ${CONTROL_TOWER_SERVICES.join(', ')} defines`);
    return id;
  };
  const args = ['validate', ...CONTROL_TOWER_SERVICES.flatMap((service) => ['--rules', path.join(RULES_ROOT, service)]), '--data', templatePath, '--output-format', 'json', '--show-summary', 'none', '--structured'];
  let output: string;
  try {
    output = execFileSync(GUARD, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  } catch (error) {
    // cfn-guard exits 19 when a rule fails; its report is still on stdout.
    const failed = error as { status?: number; stdout?: string; stderr?: string };
    if (failed.status !== 19 || !failed.stdout) throw new Error(`cfn-guard failed (exit ${failed.status}): ${failed.stderr ?? ''}`);
    output = failed.stdout;
  }
  const results = JSON.parse(output) as GuardFileResult[];
  const failures = new Set<string>();
  const passed = new Set<string>();
  const notApplicable = new Set<string>();
  for (const result of results) {
    for (const { Rule } of result.not_compliant ?? []) {
      for (const logicalId of resourcesNamedIn(Rule)) {
        failures.add(`${control(Rule.name)} at ${pathOf(logicalId)}`);
      }
    }
    for (const rule of result.compliant ?? []) passed.add(control(rule));
    for (const rule of result.not_applicable ?? []) notApplicable.add(control(rule));
  }
  return { failures: [...failures].sort(), passed: [...passed].sort(), notApplicable: [...notApplicable].sort() };
}
