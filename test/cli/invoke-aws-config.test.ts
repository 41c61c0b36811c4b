/**
 * `modelstack invoke my-endpoint` without --local goes to AWS. On a machine with no AWS
 * configuration the SDK's own words ("Could not load credentials from any providers", "Region is
 * missing") do not say what to do; the CLI must. The child runs with an empty HOME, no AWS_*
 * variables and the instance metadata service disabled, so the SDK finds nothing and never
 * leaves the machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../serve/fixtures/spawn-cli.ts';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'modelstack-empty-home-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** This process's environment less every AWS_* variable (undefined drops it), with an empty HOME. */
function noAwsConfiguration(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) env[name] = undefined;
  return { ...env, HOME: home, USERPROFILE: home, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

async function invokeAws(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | string; stderr: string }> {
  const run = runCli(['invoke', 'my-endpoint', '--body', '{"instances": [[1.5]]}', ...args], env);
  const code = await run.exited;
  return { code, stderr: run.stderr() };
}

describe('modelstack invoke against AWS without AWS configuration', () => {
  it('without credentials says how to configure them, or to use --local', async () => {
    const { code, stderr } = await invokeAws(['--region', 'eu-west-1'], noAwsConfiguration());
    expect(code).toBe(1);
    expect(stderr).toMatch(/no AWS credentials/);
    expect(stderr).toMatch(/aws configure/);
    expect(stderr).toMatch(/AWS_PROFILE/);
    expect(stderr).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(stderr).toMatch(/--local http:\/\/127\.0\.0\.1:8080/);
  });

  it('without a region says to pass --region or set AWS_REGION, or to use --local', async () => {
    const { code, stderr } = await invokeAws([], noAwsConfiguration());
    expect(code).toBe(1);
    expect(stderr).toMatch(/no AWS region/);
    expect(stderr).toMatch(/--region/);
    expect(stderr).toMatch(/AWS_REGION/);
    expect(stderr).toMatch(/--local http:\/\/127\.0\.0\.1:8080/);
  });
});
