import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../serve/fixtures/spawn-cli.ts';

describe('npm run demo', () => {
  it('trains on y = 2x + 1 + noise, serves, invokes through the AWS SDK and recovers the line', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bin/demo.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/GET \/ping -> 200/);
    expect(out).toMatch(/InvokeEndpoint \(AWS SDK, text\/csv\) -> 9 predictions/);
    const [, slope, intercept] = /learned {2}y = (\S+) x \+ (\S+)/.exec(out) ?? [];
    expect(Math.abs(Number(slope) - 2)).toBeLessThan(0.1);
    expect(Math.abs(Number(intercept) - 1)).toBeLessThan(0.1);
    expect(out).toMatch(/drained and stopped/);
  });
});
