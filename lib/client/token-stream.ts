/**
 * Reading a streamed text generation out of InvokeEndpointWithResponseStream's payload parts.
 * SageMaker relays the container's bytes in parts that do not follow its lines: one part may
 * hold several lines, or half of one, or half of a UTF-8 character. So the bytes are decoded as
 * one stream and cut at newlines, and only whole lines are parsed: TGI's token lines
 * (`{"token": {"text": ...}, ...}`), framed as JSON Lines or as Server-Sent Events (`data: ...`),
 * and a chat model's OpenAI chunks (`data: {"object": "chat.completion.chunk", "choices":
 * [{"delta": {"content": ...}}]}`, then `data: [DONE]`).
 */
import { EndpointError } from './endpoint-error.ts';

/** The whole lines in `parts`, however the parts cut them (the last one may lack its newline). */
export async function* linesOf(parts: AsyncIterable<Uint8Array>): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let pending = '';
  for await (const part of parts) {
    pending += decoder.decode(part, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      yield pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}

/** One TGI stream line (JSON Lines or an SSE `data:` line), or chat chunk, as the text it adds; undefined for lines that carry none. */
export function tokenText(line: string, endpointName: string): string | undefined {
  const json = line.startsWith('data:') ? line.slice(5).trim() : line.trim();
  if (json === '' || json === '[DONE]' || line.startsWith(':') || line.startsWith('event:') || line.startsWith('id:') || line.startsWith('retry:')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new EndpointError('response', `${endpointName} streamed a line that is not JSON: ${json.slice(0, 100)}`, undefined);
  }
  const record = parsed as { token?: { text?: unknown; special?: unknown }; error?: unknown; error_type?: unknown; object?: unknown; choices?: unknown } | null;
  if (typeof record?.error === 'string') {
    throw new EndpointError('model', `the model's stream failed: ${record.error}${typeof record.error_type === 'string' ? ` (${record.error_type})` : ''}`, undefined);
  }
  if (record?.object === 'chat.completion.chunk' && Array.isArray(record.choices)) {
    // The role's delta, the finish_reason's and the usage chunk (no choices) add no text.
    const delta = (record.choices[0] as { delta?: { content?: unknown } } | undefined)?.delta;
    return typeof delta?.content === 'string' ? delta.content : '';
  }
  if (typeof record?.token?.text !== 'string') {
    throw new EndpointError('response', `${endpointName} streamed a line without a token (expected {"token": {"text": ...}, ...}): ${json.slice(0, 100)}`, undefined);
  }
  return record.token.special === true ? '' : record.token.text;
}
