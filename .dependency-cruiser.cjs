/**
 * Import rules, checked by `npm run lint:imports` (part of `npm test`).
 *
 * model-runtime/src is layered, lowest first:
 *
 *   numbers.ts  closed-stdout.ts    leaf files beside the layers, usable by every layer
 *   graph/  engine/  artifact/      leaves: the ONNX graph builder, sessions, the sealed artifact
 *   text/                           a leaf too: tokenizers, learned from text and written as tokenizer.json
 *   contract/                       SageMaker's paths, hyperparameters, metric lines
 *   data/                           reading, scanning and batching training data
 *   optim/                          optimizers and schedules (graph builders)
 *   models/                         model graphs, losses, the trainable model
 *   train/        serve/            the two jobs; neither imports the other
 *   main.ts                         the container's entry
 *
 * A module may import its own layer and the layers below it; nothing imports upward, and no
 * imports run in a circle. The container image holds model-runtime/ alone, so the runtime never
 * imports the CDK app (bin/, lib/) or the Lambdas; Lambdas and the application client
 * (lib/client/) are bundled small, so they never import aws-cdk-lib.
 */
const RUNTIME = '^model-runtime/src/';

/** Each layer with the runtime folders it must not import (everything above it). */
const LAYERS = [
  { name: 'graph', above: ['engine', 'artifact', 'text', 'contract', 'data', 'optim', 'models', 'train', 'serve'] },
  { name: 'engine', above: ['artifact', 'text', 'contract', 'data', 'optim', 'models', 'train', 'serve'] },
  { name: 'artifact', above: ['text', 'contract', 'data', 'optim', 'models', 'train', 'serve'] },
  // Beside graph/, engine/ and artifact/ rather than above them: a tokenizer needs none of them.
  { name: 'text', above: ['graph', 'engine', 'artifact', 'contract', 'data', 'optim', 'models', 'train', 'serve'] },
  { name: 'contract', above: ['text', 'data', 'optim', 'models', 'train', 'serve'] },
  { name: 'data', above: ['optim', 'models', 'train', 'serve'] },
  { name: 'optim', above: ['models', 'train', 'serve'] },
  { name: 'models', above: ['train', 'serve'] },
  { name: 'train', above: ['serve'] },
  { name: 'serve', above: ['train'] },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Imports run in a circle: move what both sides need into a module below them.',
      from: { path: RUNTIME },
      to: { circular: true },
    },
    ...LAYERS.map(({ name, above }) => ({
      name: `runtime-layers-${name}`,
      severity: 'error',
      comment: `model-runtime/src/${name}/ imports from a layer above it (${above.join(', ')}): move the shared piece down instead (see .dependency-cruiser.cjs).`,
      from: { path: `${RUNTIME}${name}/` },
      to: { path: `${RUNTIME}(${above.join('|')})/` },
    })),
    {
      name: 'runtime-leaf-files',
      severity: 'error',
      comment: 'The files beside the layers (numbers.ts, closed-stdout.ts) serve every layer, so they import none.',
      from: { path: `${RUNTIME}[^/]+\\.ts$`, pathNot: `${RUNTIME}main\\.ts$` },
      to: { path: `${RUNTIME}[^/]+/` },
    },
    {
      name: 'runtime-no-entry',
      severity: 'error',
      comment: 'main.ts is the entry point: nothing in the runtime imports it.',
      from: { path: RUNTIME },
      to: { path: `${RUNTIME}main\\.ts$` },
    },
    {
      name: 'runtime-stands-alone',
      severity: 'error',
      comment: 'The container image holds model-runtime/ only: the runtime cannot import the CDK app, the CLI or the Lambdas.',
      from: { path: '^model-runtime/' },
      to: { path: '^(bin|lib|lambda|test|bench)/' },
    },
    {
      name: 'lambdas-without-cdk',
      severity: 'error',
      comment: 'Lambda handlers are bundled by esbuild: aws-cdk-lib (or a lib/ module that imports it at run time) would end up in the bundle. Import types only.',
      from: { path: '^lambda/' },
      to: { path: '(^|/)node_modules/(aws-cdk-lib|constructs)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'client-without-cdk',
      severity: 'error',
      comment: 'modelstack/client is what applications bundle: it may use the SageMaker runtime SDK, not the CDK constructs.',
      from: { path: '^lib/client/' },
      to: { path: ['(^|/)node_modules/(aws-cdk-lib|constructs)/', '^lib/(?!client/)'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'This import resolves to no file: a moved or renamed module left it behind.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // TypeScript 7 has no JavaScript compiler API for dependency-cruiser to parse with; swc reads the sources.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)cdk\\.out/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      extensions: ['.ts', '.js', '.json'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
