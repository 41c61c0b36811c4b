/**
 * `modelstack inspect <model>`: what a model.tar.gz (or an extracted folder) is before it is
 * deployed: whether its seal verifies as serving verifies it, its digest, what model.json
 * describes, the content types it is called with, its graph's tensors and its sizes.
 */
import { readdir } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { ArtifactIntegrityError, MANIFEST_FILE } from '../../model-runtime/src/artifact/digest.ts';
import { digestProblem, EXPECTED_DIGEST_ENV } from '../../model-runtime/src/artifact/expected-digest.ts';
import { modelReport, type ModelReport } from './model-report.ts';
import { openModel } from './model-source.ts';
import { tensorText } from './tensor-text.ts';

interface InspectOptions {
  readonly json?: true;
  readonly expectedDigest?: string;
}

/** Labels printed in the human form; --json lists them all. */
const LABELS_SHOWN = 10;

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('Verify a model\'s seal and show what it is, how to call it and how big it is, before deploying it.')
    .argument('<model>', 'model.tar.gz written by `modelstack train` or `modelstack package`, or an extracted model folder')
    .option('--json', 'print one JSON object (keys below) instead of text')
    .option('--expected-digest <hex>', `fail unless the manifest digest is this one, as serving with ${EXPECTED_DIGEST_ENV} does`, parseDigest)
    .addHelpText('after', `
Examples:
  $ modelstack inspect model.tar.gz
  $ modelstack inspect model.tar.gz --json | jq .contentTypes
  $ modelstack inspect model.tar.gz --expected-digest "$(modelstack inspect model.tar.gz --json | jq -r .digest)"

--json keys (always present; null where they do not apply):
  model, archiveBytes       the path given; the archive's size (null for a folder)
  verified                  true (a model that does not verify exits 1, see below)
  digest, createdAt         MANIFEST.json's digest (what train and package print as "model digest") and time
  expectedDigest, digestMatches   --expected-digest and whether it is the digest (null without it)
  algorithm, task           model.json's (task null for a language model)
  labels, features, targets classes in id order; a tabular model's input and target columns
  hyperparameters, metrics  as the run resolved and ended them (the algorithm's own keys only)
  sourceFiles               a packaged model's files from its source (null for a trained model)
  contentTypes              {requests, responses}: the Content-Type and Accept values the server takes
  chatTemplate              a text-generation export's chat template file (it takes OpenAI messages), else null
  inputs, outputs           model.onnx's tensors: [{name, dtype, shape}], a dynamic axis its name or ""
  files, totalBytes         [{name, bytes}] of every file, MANIFEST.json included, and their sum
  versions                  {modelstack, onnxruntime, node} it was made with

Exits 1 when the model is missing, is not a modelstack model, does not match ${MANIFEST_FILE}
(the message names each changed, missing or extra file; with --json stdout then holds
{model, verified: false, problem, changed, missing, extra}), or has another digest than
--expected-digest (after printing the report).`)
    .action(async (source: string, options: InspectOptions) => {
      const expectedDigest = options.expectedDigest ?? null;
      const model = await openModel(source);
      let report: ModelReport;
      try {
        report = await modelReport(model.dir, { source, archive: model.archive, expectedDigest });
      } catch (error) {
        if (!(error instanceof ArtifactIntegrityError)) throw error;
        // The folder extracted to is a temporary one: name what the user gave instead.
        const problem = error.message.replaceAll(model.dir, source);
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify({ model: source, verified: false, problem, changed: error.changed, missing: error.missing, extra: error.extra }, null, 2)}\n`);
        }
        if (error.missing.includes(MANIFEST_FILE)) {
          const found = (await readdir(model.dir)).sort();
          throw new Error(`${source} is not a modelstack model: it has no ${MANIFEST_FILE} (it holds ${found.length === 0 ? 'nothing' : found.slice(0, 5).join(', ')}${found.length > 5 ? ', ...' : ''}); pass a model.tar.gz written by \`modelstack train\` or \`modelstack package\`, or its extracted folder`);
        }
        throw new Error(`${source} does not verify, so serving would refuse it: ${problem}`);
      } finally {
        await model.cleanup();
      }
      process.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : reportText(report));
      if (report.digestMatches === false) {
        throw new Error(`${source} has digest ${report.digest}, not the expected ${expectedDigest}: serving with ${EXPECTED_DIGEST_ENV}=${expectedDigest} would refuse it (the archive was replaced or is another model)`);
      }
    });
}

function parseDigest(value: string): string {
  const problem = digestProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`--expected-digest ${problem}`);
  return value.toLowerCase();
}

/** The human form: one `name: value` line per fact, so it greps as well as it reads. */
function reportText(r: ModelReport): string {
  const lines = [
    `model: ${r.model}${r.archiveBytes === null ? '' : ` (${r.archiveBytes} bytes)`}`,
    `seal: verified (${MANIFEST_FILE} matches every file, as serving checks it)`,
    `digest: ${r.digest}`,
    ...(r.digestMatches === null ? [] : [`expected digest: ${r.digestMatches ? 'matches' : `MISMATCH (expected ${r.expectedDigest})`}`]),
    ...(r.createdAt === null ? [] : [`sealed: ${r.createdAt}`]),
    `algorithm: ${r.algorithm}`,
    ...(r.task === null ? [] : [`task: ${r.task}`]),
    ...(r.labels === null ? [] : [`labels: ${r.labels.slice(0, LABELS_SHOWN).join(', ')}${r.labels.length > LABELS_SHOWN ? `, ... (${r.labels.length} in all)` : ''}`]),
    ...(r.features === null ? [] : [`features: ${r.features.join(', ')}`]),
    ...(r.targets === null ? [] : [`targets: ${r.targets.join(', ')}`]),
    ...(Object.keys(r.hyperparameters).length === 0 ? [] : [`hyperparameters: ${Object.entries(r.hyperparameters).map(([k, v]) => `${k}=${v}`).join(', ')}`]),
    ...(Object.keys(r.metrics).length === 0 ? [] : [`metrics: ${Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(', ')}`]),
    ...(r.sourceFiles === null ? [] : [`source files: ${r.sourceFiles.join(', ')}`]),
    `accepts (Content-Type): ${r.contentTypes.requests.join(', ')}`,
    `returns (Accept): ${r.contentTypes.responses.join(', ')}`,
    ...(r.chatTemplate === null ? [] : [`chat: OpenAI messages through the chat template in ${r.chatTemplate}`]),
    `inputs: ${r.inputs.map(tensorText).join('; ')}`,
    `outputs: ${r.outputs.map(tensorText).join('; ')}`,
    `files: ${r.files.length}, ${r.totalBytes} bytes`,
    ...r.files.map((f) => `  ${f.name} ${f.bytes}`),
    `versions: modelstack ${r.versions.modelstack}, onnxruntime ${r.versions.onnxruntime}, node ${r.versions.node}`,
  ];
  return `${lines.join('\n')}\n`;
}
