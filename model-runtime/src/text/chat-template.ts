/**
 * A Hugging Face model's chat template: the Jinja program that turns OpenAI-style messages into
 * the one prompt string the model was tuned on, as transformers' `apply_chat_template` runs it.
 *
 * Where it comes from, as transformers reads it: a `chat_template.jinja` file beside the
 * tokenizer (what transformers 4.50 and later save), else tokenizer_config.json's
 * `chat_template`, a string or a list of `{"name", "template"}` of which "default" is the one
 * used. It is parsed when packaging and again when serving, by @huggingface/jinja (the
 * implementation transformers.js uses), with trim_blocks and lstrip_blocks on as transformers
 * sets them.
 *
 * Rendering gets what apply_chat_template passes: `messages`, `add_generation_prompt: true` (the
 * assistant's turn is opened, for the model to write it), and the tokenizer's special tokens by
 * name (`bos_token`, `eos_token`, ...; tokenizer_config.json writes each as a string or as an
 * AddedToken object whose `content` is the string). A template that calls `raise_exception`
 * (roles that do not alternate, a system message where none is allowed) fails the render with
 * its message.
 */
import { Template } from '@huggingface/jinja';

export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';
const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** Where a chat template may be, in the words a message uses. */
export const CHAT_TEMPLATE_SOURCES = `${CHAT_TEMPLATE_FILE} or tokenizer_config.json's "chat_template"`;

/** The special tokens apply_chat_template hands the template, by their tokenizer_config.json names. */
const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
  /** OpenAI's participant name; templates that know it render it. */
  readonly name?: string;
}

/** A template that does not parse, or a render it refuses (raise_exception); the message says which file and why. */
export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChatTemplateError';
  }
}

/** The export's files a chat template is read from (null where absent). */
export interface ChatTemplateFiles {
  readonly chatTemplateJinja: string | null;
  readonly tokenizerConfigJson: string | null;
  /** The folder, for messages. */
  readonly source: string;
}

export class ChatTemplate {
  private constructor(
    private readonly template: Template,
    /** The file it came from ("chat_template.jinja" or "tokenizer_config.json"), for messages. */
    readonly file: string,
    private readonly specialTokens: Readonly<Record<string, string>>,
  ) {}

  /** The export's template (file comment), parsed; null when it has none. Throws ChatTemplateError naming the file and the parser's reason. */
  static fromFiles(files: ChatTemplateFiles): ChatTemplate | null {
    const config = tokenizerConfig(files);
    const source = files.chatTemplateJinja !== null
      ? { text: files.chatTemplateJinja, file: CHAT_TEMPLATE_FILE }
      : configTemplate(config.chat_template, files.source);
    if (source === null) return null;
    let template: Template;
    try {
      template = new Template(source.text);
    } catch (error) {
      throw new ChatTemplateError(`${files.source}/${source.file}: the chat template does not parse as Jinja: ${(error as Error).message}`);
    }
    return new ChatTemplate(template, source.file, specialTokens(config));
  }

  /** The prompt for `messages`, the assistant's turn opened. Throws ChatTemplateError when the template refuses them. */
  render(messages: readonly ChatMessage[]): string {
    try {
      return this.template.render({ ...this.specialTokens, messages: messages.map((m) => ({ ...m })), add_generation_prompt: true });
    } catch (error) {
      throw new ChatTemplateError(`the model's chat template (${this.file}) refused the messages: ${(error as Error).message}`);
    }
  }
}

function tokenizerConfig(files: ChatTemplateFiles): Record<string, unknown> {
  if (files.tokenizerConfigJson === null) return {};
  try {
    const value: unknown = JSON.parse(files.tokenizerConfigJson);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {}; // the tokenizer's loader has already refused a tokenizer_config.json that is not JSON
  }
}

/** tokenizer_config.json's chat_template: a string, or the "default" of a list of named templates. */
function configTemplate(value: unknown, folder: string): { text: string; file: string } | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return { text: value, file: TOKENIZER_CONFIG_FILE };
  const where = `${folder}/${TOKENIZER_CONFIG_FILE}`;
  if (!Array.isArray(value)) throw new ChatTemplateError(`${where}: chat_template must be a template string or a list of {"name", "template"}, got ${typeof value}`);
  const named = value.filter((t): t is { name: string; template: string } => typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string' && typeof (t as { template?: unknown }).template === 'string');
  if (named.length !== value.length) throw new ChatTemplateError(`${where}: every entry of the chat_template list must be {"name": string, "template": string}`);
  const chosen = named.find((t) => t.name === 'default');
  if (chosen === undefined) throw new ChatTemplateError(`${where}: the chat_template list has no "default" entry, the one a chat request uses (it names ${named.map((t) => JSON.stringify(t.name)).join(', ')})`);
  return { text: chosen.template, file: TOKENIZER_CONFIG_FILE };
}

/** The special tokens as strings: tokenizer_config.json writes each as one, or as {"content": ...}. */
function specialTokens(config: Record<string, unknown>): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const value = config[key];
    if (typeof value === 'string') tokens[key] = value;
    else if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') tokens[key] = (value as { content: string }).content;
  }
  return tokens;
}
