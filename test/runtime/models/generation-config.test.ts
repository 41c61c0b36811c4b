/**
 * config.json and generation_config.json read together (models/generation-config.ts): the eos
 * ids a generation ends on, the empty prompt's first token and the request defaults, for the
 * files this runtime's own language model writes (unchanged behaviour) and for the shapes
 * Hugging Face exports have (eos lists, nulls, keys this runtime does not use).
 */
import { describe, expect, test } from 'vitest';
import { generationRules, parseGenerationConfig } from '../../../model-runtime/src/models/generation-config.ts';
import { generationConfigJson, gpt2ConfigJson, parseDecoderConfig } from '../../../model-runtime/src/models/gpt-config.ts';
import type { GptConfig } from '../../../model-runtime/src/models/gpt.ts';

const gpt: GptConfig = { vocabSize: 100, contextLength: 64, nLayer: 1, nHead: 2, nEmbd: 8, bias: true, dropout: 0 };
const rules = (config: object, generation: object | null) => {
  const decoder = parseDecoderConfig(JSON.stringify(config));
  return generationRules(decoder, generation === null ? null : parseGenerationConfig(JSON.stringify(generation), 'generation_config.json', decoder.vocabSize));
};

describe('generation rules from config.json and generation_config.json', () => {
  test("this runtime's language model: ends on its eos, an empty prompt starts from it, no request default changes (max_length sets none)", () => {
    expect(rules(gpt2ConfigJson(gpt, 99), generationConfigJson(gpt, 99))).toEqual({ eosTokenIds: [99], startTokenId: 99, defaults: { doSample: false } });
    // A model sealed before generation_config.json was read, or one without eos.
    expect(rules(gpt2ConfigJson(gpt, 99), null)).toEqual({ eosTokenIds: [99], startTokenId: 99, defaults: {} });
    expect(rules(gpt2ConfigJson(gpt, null), generationConfigJson(gpt, null))).toMatchObject({ eosTokenIds: [], startTokenId: null });
  });

  test("an eos list in either file; generation_config.json's wins when it sets one, null and absence leave config.json's", () => {
    const config = { ...gpt2ConfigJson(gpt, 1), eos_token_id: [97, 98, 97] };
    expect(rules(config, null).eosTokenIds).toEqual([97, 98]);
    expect(rules(config, { eos_token_id: [5, 6] }).eosTokenIds).toEqual([5, 6]);
    expect(rules(config, { eos_token_id: 7 }).eosTokenIds).toEqual([7]);
    expect(rules(config, { eos_token_id: null, transformers_version: '4.46.0' }).eosTokenIds).toEqual([97, 98]);
    expect(rules(config, {}).eosTokenIds).toEqual([97, 98]);
    expect(rules(config, { eos_token_id: [] }).eosTokenIds).toEqual([]);
  });

  test('an empty prompt starts from bos_token_id (generation_config.json, then config.json), else the first eos id', () => {
    const config = { ...gpt2ConfigJson(gpt, 1), bos_token_id: 3, eos_token_id: [97, 98] };
    expect(rules(config, { bos_token_id: 4 }).startTokenId).toBe(4);
    expect(rules(config, {}).startTokenId).toBe(3);
    expect(rules({ ...config, bos_token_id: null }, null).startTokenId).toBe(97);
  });

  test('the request defaults it sets; keys this runtime does not use are ignored', () => {
    const file = { max_new_tokens: 3, do_sample: true, temperature: 0.6, top_k: 40, top_p: 0.9, max_length: 4096, repetition_penalty: 1.1, pad_token_id: 0, custom_key: 'x' };
    expect(rules(gpt2ConfigJson(gpt, 1), file).defaults).toEqual({ maxNewTokens: 3, doSample: true, temperature: 0.6, topK: 40, topP: 0.9, repetitionPenalty: 1.1 });
    expect(rules(gpt2ConfigJson(gpt, 1), { temperature: null, top_k: null }).defaults).toEqual({});
    // temperature 0 beside greedy decoding is harmless (transformers ignores it); with do_sample true it is not.
    expect(rules(gpt2ConfigJson(gpt, 1), { temperature: 0, do_sample: false }).defaults).toEqual({ doSample: false });
    expect(rules(gpt2ConfigJson(gpt, 1), { temperature: 0 }).defaults).toEqual({});
    expect(() => parseGenerationConfig(JSON.stringify({ temperature: 0, do_sample: true }), 'g.json', 100)).toThrow('g.json: temperature must be a number above 0 (0 only where do_sample is not true: greedy), got 0');
  });

  test('a wrong value names the file, the field and the allowed range', () => {
    const parse = (value: object) => () => parseGenerationConfig(JSON.stringify(value), 'gpt/generation_config.json', 100);
    expect(parse({ repetition_penalty: 0 })).toThrow('gpt/generation_config.json: repetition_penalty must be a number from 0.01 to 100 (1 = off), got 0');
    expect(parse({ max_length: -1 })).toThrow('gpt/generation_config.json: max_length must be a whole number >= 1 (prompt plus new tokens), got -1');
    expect(parse({ bos_token_id: [1, 2] })).toThrow('gpt/generation_config.json: bos_token_id must be a token id or null (token ids 0 to 99, below vocab_size 100), got [1,2]');
    expect(parse({ eos_token_id: [1, 2.5] })).toThrow(/eos_token_id must be a token id, a list of token ids or null .*got 2\.5/);
    expect(() => parseGenerationConfig('[1]', 'g.json', 100)).toThrow('g.json must be a JSON object');
    expect(() => parseGenerationConfig('{', 'g.json', 100)).toThrow('g.json is not valid JSON');
    expect(() => parseDecoderConfig(JSON.stringify({ ...gpt2ConfigJson(gpt, 1), eos_token_id: [1, 100] }))).toThrow('config.json: eos_token_id must be a token id, a list of token ids or null (token ids 0 to 99, below vocab_size 100), got 100');
  });
});
