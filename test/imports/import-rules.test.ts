/**
 * The import rules (.dependency-cruiser.cjs) catch what they claim: each test lays out a small
 * tree in a temporary folder, cruises it with the project's own rules, and reads the violations.
 * `npm run lint:imports` applies the same rules to the real tree.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterEach, describe, expect, it } from 'vitest';

const rules = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;

let tree: string | undefined;
afterEach(async () => {
  if (tree) await rm(tree, { recursive: true, force: true });
  tree = undefined;
});

/** Writes `files` (path -> source) under a fresh folder and returns the rules each import broke. */
async function violations(files: Record<string, string>): Promise<string[]> {
  tree = await mkdtemp(path.join(os.tmpdir(), 'import-rules-'));
  for (const [file, source] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tree, file)), { recursive: true });
    await writeFile(path.join(tree, file), source);
  }
  const { forbidden, options } = rules;
  const roots = [...new Set(Object.keys(files).map((file) => file.split('/')[0]!))].filter((root) => root !== 'node_modules');
  const result = await cruise(roots, { ...options, baseDir: tree, ruleSet: { forbidden }, validate: true });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('import rules', () => {
  it('refuses an upward import and names the importing file and the imported one', async () => {
    const found = await violations({
      'model-runtime/src/train/loop.ts': 'export const step = 1;\n',
      'model-runtime/src/data/reader.ts': "import { step } from '../train/loop.ts';\nexport const n = step;\n",
    });
    expect(found).toEqual(['runtime-layers-data: model-runtime/src/data/reader.ts -> model-runtime/src/train/loop.ts']);
  });

  it('refuses a type-only upward import too: vocabulary belongs below its users', async () => {
    const found = await violations({
      'model-runtime/src/train/state.ts': 'export interface State { step: number }\n',
      'model-runtime/src/optim/sgd.ts': "import type { State } from '../train/state.ts';\nexport const f = (s: State) => s.step;\n",
    });
    expect(found).toEqual(['runtime-layers-optim: model-runtime/src/optim/sgd.ts -> model-runtime/src/train/state.ts']);
  });

  it('refuses serve/ and train/ importing each other', async () => {
    const found = await violations({
      'model-runtime/src/train/fit.ts': 'export const fit = 1;\n',
      'model-runtime/src/serve/server.ts': "import { fit } from '../train/fit.ts';\nexport const s = fit;\n",
    });
    expect(found).toEqual(['runtime-layers-serve: model-runtime/src/serve/server.ts -> model-runtime/src/train/fit.ts']);
  });

  it('keeps text/ a leaf: it imports no other layer, and the layers beside and below it do not import it', async () => {
    const found = await violations({
      'model-runtime/src/graph/builder.ts': 'export const g = 1;\n',
      'model-runtime/src/text/tokenizer.ts': "import { g } from '../graph/builder.ts';\nexport const t = g;\n",
      'model-runtime/src/artifact/save.ts': "import { t } from '../text/tokenizer.ts';\nexport const s = t;\n",
      'model-runtime/src/contract/paths.ts': "import { t } from '../text/tokenizer.ts';\nexport const p = t;\n",
      'model-runtime/src/numbers.ts': 'export const n = 1;\n',
      'model-runtime/src/text/vocab.ts': "import { n } from '../numbers.ts';\nexport const v = n;\n",
      'model-runtime/src/data/corpus.ts': "import { v } from '../text/vocab.ts';\nexport const c = v;\n",
      'model-runtime/src/serve/generate.ts': "import { v } from '../text/vocab.ts';\nexport const x = v;\n",
    });
    expect(found.sort()).toEqual([
      'runtime-layers-artifact: model-runtime/src/artifact/save.ts -> model-runtime/src/text/tokenizer.ts',
      'runtime-layers-contract: model-runtime/src/contract/paths.ts -> model-runtime/src/text/tokenizer.ts',
      'runtime-layers-text: model-runtime/src/text/tokenizer.ts -> model-runtime/src/graph/builder.ts',
    ]);
  });

  it('refuses a cycle inside one layer', async () => {
    const found = await violations({
      'model-runtime/src/serve/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'model-runtime/src/serve/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^no-cycles: model-runtime\/src\/serve\/(a\.ts -> .*b\.ts|b\.ts -> .*a\.ts)$/);
  });

  it('refuses the runtime importing the CDK app, and a Lambda importing aws-cdk-lib', async () => {
    const found = await violations({
      'lib/endpoint.ts': 'export const x = 1;\n',
      'model-runtime/src/serve/server.ts': "import { x } from '../../../lib/endpoint.ts';\nexport const s = x;\n",
      'lambda/deploy.ts': "import { Duration } from 'aws-cdk-lib';\nexport const d = Duration.seconds(1);\n",
      'node_modules/aws-cdk-lib/package.json': '{"name":"aws-cdk-lib","main":"index.js"}\n',
      'node_modules/aws-cdk-lib/index.js': 'exports.Duration = {};\n',
    });
    expect(found.sort()).toEqual([
      'lambdas-without-cdk: lambda/deploy.ts -> node_modules/aws-cdk-lib/index.js',
      'runtime-stands-alone: model-runtime/src/serve/server.ts -> lib/endpoint.ts',
    ]);
  });

  it('keeps the files beside the layers free of layer imports', async () => {
    const found = await violations({
      'model-runtime/src/data/table.ts': 'export const t = 1;\n',
      'model-runtime/src/numbers.ts': "import { t } from './data/table.ts';\nexport const n = t;\n",
    });
    expect(found).toEqual(['runtime-leaf-files: model-runtime/src/numbers.ts -> model-runtime/src/data/table.ts']);
  });

  it('accepts imports that point down', async () => {
    const found = await violations({
      'model-runtime/src/graph/builder.ts': 'export const g = 1;\n',
      'model-runtime/src/models/mlp.ts': "import { g } from '../graph/builder.ts';\nexport const m = g;\n",
      'model-runtime/src/train/fit.ts': "import { m } from '../models/mlp.ts';\nexport const f = m;\n",
      'model-runtime/src/numbers.ts': 'export const n = 1;\n',
      'model-runtime/src/data/table.ts': "import { n } from '../numbers.ts';\nexport const t = n;\n",
      'model-runtime/src/main.ts': "import { f } from './train/fit.ts';\nexport const main = f;\n",
    });
    expect(found).toEqual([]);
  });
});
