/**
 * `npm run docs:hyperparameters`: rewrites README.md's hyperparameter tables from
 * HYPERPARAMETER_SPECS (model-runtime/src/contract/hyperparameter-table.ts), after a key, a
 * default or a range changes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { updateReadmeTables } from '../model-runtime/src/contract/hyperparameter-table.ts';

const readmePath = join(import.meta.dirname, '..', 'README.md');
const before = readFileSync(readmePath, 'utf8');
const after = updateReadmeTables(before);
writeFileSync(readmePath, after);
console.log(after === before ? 'README.md hyperparameter tables were already current' : 'README.md hyperparameter tables rewritten');
