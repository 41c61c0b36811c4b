/**
 * A tokenizer refused its input: training text, a setting, a text to encode, ids to decode or a
 * tokenizer.json. The message names what was wrong and what would be right.
 */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}
