/**
 * `modelstack generate <model> "prompt"`: continues the prompt with a language model written by
 * `modelstack train --algorithm language-model`, printing the text to stdout as the tokens come.
 * Greedy unless a sampling option (--temperature, --top-k, --top-p, --seed or --sample) is given,
 * or the model's generation_config.json says do_sample; an option left out takes the value
 * generation_config.json gives (max_new_tokens, temperature, top_k, top_p, repetition_penalty), as
 * a request to the served model does, else the runtime's own default. --repetition-penalty does
 * not imply sampling: it reshapes the logits greedy decoding picks from too.
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadArtifact } from '../../model-runtime/src/artifact/load.ts';
import { PRETRAINED_ALGORITHM } from '../../model-runtime/src/artifact/model-description.ts';
import { generateTokens, type GenerationSettings } from '../../model-runtime/src/models/generation.ts';
import { REPETITION_PENALTY_ALLOWED, REPETITION_PENALTY_RANGE, repetitionPenaltyAllowed } from '../../model-runtime/src/models/penalties.ts';
import { loadGenerationModel, pretrainedTokenizer, promptIds } from '../../model-runtime/src/models/generation-model.ts';
import { openModel } from './model-source.ts';
import { parseWholeNumber } from './serve.ts';

/** New tokens when neither --max-new-tokens nor the model's generation_config.json says. */
const DEFAULT_MAX_NEW_TOKENS = 100;

interface GenerateOptions {
  readonly maxNewTokens?: number;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
  readonly sample?: boolean;
  readonly stop: string[];
}

export function generateCommand(): Command {
  return new Command('generate')
    .description('Continue a prompt with a language model (algorithm=language-model), streaming the text as it is generated.')
    .argument('<model>', 'model.tar.gz written by `modelstack train --algorithm language-model`, or an extracted model folder')
    .argument('<prompt>', 'the text to continue')
    .option('-n, --max-new-tokens <count>', `tokens to generate at most (default: generation_config.json's max_new_tokens, else ${DEFAULT_MAX_NEW_TOKENS})`, parseWholeNumber('max-new-tokens', 1, 1_000_000))
    .option('-t, --temperature <value>', 'sampling temperature above 0 (implies sampling)', parsePositive('temperature'))
    .option('-k, --top-k <count>', 'sample from the k most likely tokens only (implies sampling)', parseWholeNumber('top-k', 1, 1_000_000_000))
    .option('--top-p <value>', 'sample from the smallest set of tokens whose probability reaches p, in (0, 1] (implies sampling)', parseProbability)
    .option('--repetition-penalty <value>', `divide a positive logit (multiply a negative one) of every token already in the prompt or the text by this, ${REPETITION_PENALTY_RANGE.min} to ${REPETITION_PENALTY_RANGE.max}; 1 = off (default: generation_config.json's repetition_penalty, else 1)`, parseRepetitionPenalty)
    .option('-s, --seed <number>', 'seed of the sampling draws: the same seed gives the same text (implies sampling)', parseWholeNumber('seed', 0, 2 ** 32 - 1))
    .option('--sample', 'sample (temperature 1) instead of taking the most likely token')
    .option('--stop <text>', 'stop once the text contains this, repeatable', (value: string, previous: string[]) => [...previous, value], [])
    .addHelpText('after', `
Examples:
  $ modelstack train corpus.txt --algorithm language-model --hp n_layer=4 --hp max_steps=2000
  $ modelstack generate model.tar.gz "ROMEO:" --max-new-tokens 200 --temperature 0.8 --top-k 40 --seed 1

The window slides when prompt plus new tokens exceed the model's context length.`)
    .action(async (source: string, prompt: string, options: GenerateOptions) => {
      const folder = await openModel(source);
      try {
        const artifact = await loadArtifact(folder.dir);
        const { description } = artifact;
        if (description.algorithm !== 'language-model' && !(description.algorithm === PRETRAINED_ALGORITHM && description.task === 'text-generation')) {
          throw new Error(`${source} is a ${description.algorithm} model; generate needs one trained with --algorithm language-model, or a Hugging Face export packaged with --task text-generation`);
        }
        const model = await loadGenerationModel(
          { dir: artifact.dir, onnx: artifact.onnx, files: artifact.files, tokenizerFile: description.tokenizer.file, tokenizer: pretrainedTokenizer(artifact) },
          { log: () => {} },
        );
        try {
          const defaults = model.generation.defaults;
          const sampling = options.sample === true || [options.temperature, options.topK, options.topP, options.seed].some((v) => v !== undefined) || defaults.doSample === true;
          const settings: GenerationSettings = {
            maxNewTokens: options.maxNewTokens ?? defaults.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
            doSample: sampling,
            temperature: options.temperature ?? defaults.temperature ?? 1,
            topK: options.topK ?? defaults.topK ?? 0,
            topP: options.topP ?? defaults.topP ?? 1,
            repetitionPenalty: options.repetitionPenalty ?? defaults.repetitionPenalty ?? 1,
            seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
            stop: options.stop,
            eosTokenIds: model.generation.eosTokenIds,
          };
          for await (const token of generateTokens(model.decoder, model.tokenizer, promptIds(model, prompt), settings)) {
            if (token.text !== '') process.stdout.write(token.text);
          }
          process.stdout.write('\n');
        } finally {
          await model.decoder.release();
        }
      } finally {
        await folder.cleanup();
      }
    });
}

function parsePositive(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number above 0, not '${value}'.`);
    return n;
  };
}

function parseRepetitionPenalty(value: string): number {
  const n = Number(value);
  if (!repetitionPenaltyAllowed(n)) throw new InvalidArgumentError(`repetition-penalty must be ${REPETITION_PENALTY_ALLOWED}, not '${value}'.`);
  return n;
}

function parseProbability(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`top-p must be a number in (0, 1], not '${value}'.`);
  return n;
}
