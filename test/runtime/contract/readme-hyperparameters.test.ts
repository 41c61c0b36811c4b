/**
 * README.md's hyperparameter tables are the parser's own table rendered: a key added, a
 * default or range changed, without `npm run docs:hyperparameters` fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHyperparameterTable, updateReadmeTables } from '../../../model-runtime/src/contract/hyperparameter-table.ts';
import { HYPERPARAMETER_SPECS } from '../../../model-runtime/src/contract/hyperparameters.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');

describe("README's hyperparameter tables", () => {
  it('equal the rendering of HYPERPARAMETER_SPECS (run npm run docs:hyperparameters after changing a key)', () => {
    expect(updateReadmeTables(readme)).toBe(readme);
  });

  it('list every key once, with the algorithms it applies to', () => {
    const rows = [renderHyperparameterTable('general'), renderHyperparameterTable('cnn')].join('\n').split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((r) => /^\| `([a-z_0-9]+)`/.exec(r)![1])).toEqual(expect.arrayContaining(Object.keys(HYPERPARAMETER_SPECS)));
    expect(rows).toHaveLength(Object.keys(HYPERPARAMETER_SPECS).length);
    expect(rows.find((r) => r.startsWith('| `hidden_sizes`'))).toContain('| algorithm=mlp |');
    expect(rows.find((r) => r.startsWith('| `batch_norm`'))).toContain('| the CNN classifiers (image-classifier, audio-classifier) |');
  });

  it('name a missing block', () => {
    expect(() => updateReadmeTables('# no tables here')).toThrow(/README\.md has no "<!-- hyperparameters: general/);
  });
});
