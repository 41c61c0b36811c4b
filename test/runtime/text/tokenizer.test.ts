import { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { learnTokenizer } from '../../../model-runtime/src/text/learn-tokenizer.ts';
import { decodeUtf8 } from '../../../model-runtime/src/text/utf8.ts';
import { parseTokenizerJson, toTokenizerConfigJson, toTokenizerJson } from '../../../model-runtime/src/text/tokenizer-json.ts';
import type { Tokenizer } from '../../../model-runtime/src/text/tokenizer.ts';

const CORPUS = ['The quick brown fox jumps over the lazy dog. It isn\'t lazy!\n\n  Tabs\tand  spaces.', '中文文本，汉字和标点。你好世界！', 'emoji 😀👍🏽 and 🇯🇵 flags<|endoftext|>more text 123 4567'];
const SAMPLES = ['Hello world', 'the lazy fox isn\'t here .', '你好，世界。中文', '😀 👍🏽 🇯🇵', ' \t\n  mixed   whitespace \r\n', '', 'a<|endoftext|>b', '\uFEFFbom'];

function library(tokenizer: Tokenizer): LibraryTokenizer {
  return new LibraryTokenizer(JSON.parse(JSON.stringify(toTokenizerJson(tokenizer))), toTokenizerConfigJson(tokenizer));
}

describe.each([
  ['bpe', learnTokenizer(CORPUS, { kind: 'bpe', vocabSize: 300 })],
  ['char', learnTokenizer([...CORPUS, ...SAMPLES], { kind: 'char' })],
])('%s tokenizer', (_kind, tokenizer) => {
  const lib = library(tokenizer);
  it.each(SAMPLES)('encodes %j as the library does and decodes it back exactly', (text) => {
    const ids = tokenizer.encode(text);
    expect(ids).toEqual(lib.encode(text).ids);
    expect(tokenizer.decode(ids)).toBe(text);
    if (ids.length > 0) expect(lib.decode(ids)).toBe(text);
    expect(parseTokenizerJson(JSON.stringify(toTokenizerJson(tokenizer))).encode(text)).toEqual(ids);
  });
});

describe('bad input', () => {
  it('names the problem', () => {
    expect(() => learnTokenizer(CORPUS, { kind: 'bpe', vocabSize: 200 })).toThrow(/vocab_size 200 is too small .* at least 257/);
    expect(() => learnTokenizer(['', ''], { kind: 'bpe', vocabSize: 300 })).toThrow(/training text is empty/);
    expect(() => decodeUtf8(Uint8Array.of(0x61, 0x0a, 0xff), 'train/a.txt')).toThrow(/train\/a.txt: byte offset 2 \(line 2\) is not valid UTF-8/);
  });
});
