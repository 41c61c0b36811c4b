/**
 * `modelstack invoke <endpoint>`: one InvokeEndpoint call through the AWS SDK (by way of the
 * application client, lib/client/), against AWS, or with --local against a `modelstack serve` on
 * this machine (dummy credentials and region, so no AWS configuration is needed). The body and
 * the answer pass through as they are. With --stream the call is InvokeEndpointWithResponseStream
 * and a language model's tokens are printed as they arrive.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { stdoutClosed } from '../../model-runtime/src/closed-stdout.ts';
import { EndpointClient, EndpointError, linesOf, tokenText, type SendOptions, type SettingNames } from '../../lib/client/index.ts';

interface InvokeOptions {
  readonly local?: string;
  readonly body?: string;
  readonly file?: string;
  readonly contentType?: string;
  readonly accept?: string;
  readonly customAttributes?: string;
  readonly region?: string;
  readonly verbose?: boolean;
  readonly stream?: boolean;
}

export function invokeCommand(): Command {
  return new Command('invoke')
    .description('Send one request to an endpoint through the AWS SDK (InvokeEndpoint) and print the answer.')
    .argument('<endpoint-name>', 'the SageMaker endpoint name (any name with --local)')
    .option('--local <url>', 'invoke a local `modelstack serve` at this URL instead of AWS, e.g. http://127.0.0.1:8080')
    .option('--body <text>', 'request body, e.g. \'{"instances": [[1.5, 2.0]]}\'')
    .option('--file <path>', 'read the request body from a file (CSV, JSON or JSON lines)')
    .option('--content-type <type>', 'request Content-Type (default: from the file extension, else application/json)')
    .option('--accept <type>', 'response format: application/json, text/csv or application/jsonlines')
    .option('--custom-attributes <text>', 'X-Amzn-SageMaker-Custom-Attributes, passed through to the model and back')
    .option('--region <region>', 'AWS region (default: the SDK\'s usual configuration)')
    .option('--stream', 'call InvokeEndpointWithResponseStream and print a language model\'s text as its tokens arrive (adds "stream": true to a JSON body without it)')
    .option('-v, --verbose', 'also print the response\'s content type, variant and custom attributes on stderr')
    .addHelpText('after', `
Examples:
  $ modelstack invoke demo --local http://127.0.0.1:8080 --body '{"instances": [[1.5]]}'
  $ modelstack invoke demo --local http://127.0.0.1:8080 --file rows.csv --accept application/json
  $ modelstack invoke my-prod-endpoint --region eu-west-1 --file rows.csv
  $ modelstack invoke my-lm --local http://127.0.0.1:8080 --stream --body '{"inputs": "ROMEO:", "parameters": {"max_new_tokens": 50}}'

Without --body or --file the body is read from standard input.`)
    .action(async (endpointName: string, options: InvokeOptions) => {
      const body = await requestBody(options);
      const client = new EndpointClient({ endpointName, url: options.local, region: options.region }, CLI_SETTINGS);
      const sendOptions: SendOptions = {
        contentType: options.contentType ?? contentTypeOf(options.file),
        accept: options.accept,
        customAttributes: options.customAttributes,
      };
      try {
        if (options.stream === true) {
          await printStream(client, streamedBody(body), sendOptions);
          return;
        }
        const answer = await client.send(body, sendOptions);
        if (options.verbose) {
          process.stderr.write(`ContentType: ${answer.contentType}\nInvokedProductionVariant: ${answer.variant}\n`);
          if (answer.customAttributes !== undefined) process.stderr.write(`CustomAttributes: ${answer.customAttributes}\n`);
        }
        const text = new TextDecoder().decode(answer.body);
        // A reader that leaves early (`| head -c 100`) ends the command quietly instead of with a stack trace.
        stdoutClosed();
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      } finally {
        client.destroy();
      }
    });
}

/** The CLI's names for the settings that error messages ask for. */
export const CLI_SETTINGS: SettingNames = { region: '--region', url: '--local', urlExample: '--local http://127.0.0.1:8080' };

/**
 * Each streamed line as it arrives: a token line as its text (the generation as it grows),
 * any other line as it is (a model that does not stream answers in one part).
 */
async function printStream(client: EndpointClient, body: Uint8Array, options: SendOptions): Promise<void> {
  stdoutClosed();
  let endsInNewline = true;
  for await (const line of linesOf(client.sendStream(body, options))) {
    let text: string;
    try {
      text = tokenText(line, client.endpointName) ?? '';
    } catch (error) {
      if (!(error instanceof EndpointError) || error.kind !== 'response') throw error;
      text = `${line}\n`;
    }
    if (text === '') continue;
    process.stdout.write(text);
    endsInNewline = text.endsWith('\n');
  }
  if (!endsInNewline) process.stdout.write('\n');
}

/** A JSON request (`{"inputs": ...}`, or a chat's `{"messages": ...}`) without "stream" gets `"stream": true`; any other body goes as it is. */
function streamedBody(body: Uint8Array): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return body;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('inputs' in parsed || 'messages' in parsed) || 'stream' in parsed) return body;
  return new TextEncoder().encode(JSON.stringify({ ...parsed, stream: true }));
}

async function requestBody(options: InvokeOptions): Promise<Uint8Array> {
  if (options.body !== undefined && options.file !== undefined) throw new Error('give the request body with --body or --file, not both');
  if (options.body !== undefined) return new TextEncoder().encode(options.body);
  if (options.file !== undefined) {
    return readFile(options.file).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read --file ${options.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
    });
  }
  if (process.stdin.isTTY) throw new Error('no request body: pass --body \'{"instances": [[...]]}\', --file rows.csv, or pipe it on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function contentTypeOf(file: string | undefined): string {
  if (file?.endsWith('.csv')) return 'text/csv';
  if (file?.endsWith('.jsonl')) return 'application/jsonlines';
  return 'application/json';
}
