/**
 * `modelstack invoke <endpoint>`: one InvokeEndpoint call through the AWS SDK, against AWS, or
 * with --local against a `modelstack serve` on this machine (dummy credentials and region, so
 * no AWS configuration is needed).
 */
import { readFile } from 'node:fs/promises';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient, SageMakerRuntimeServiceException } from '@aws-sdk/client-sagemaker-runtime';
import { Command } from 'commander';
import { stdoutClosed } from '../../model-runtime/src/closed-stdout.ts';

interface InvokeOptions {
  readonly local?: string;
  readonly body?: string;
  readonly file?: string;
  readonly contentType?: string;
  readonly accept?: string;
  readonly customAttributes?: string;
  readonly region?: string;
  readonly verbose?: boolean;
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
    .option('-v, --verbose', 'also print the response\'s content type, variant and custom attributes on stderr')
    .addHelpText('after', `
Examples:
  $ modelstack invoke demo --local http://127.0.0.1:8080 --body '{"instances": [[1.5]]}'
  $ modelstack invoke demo --local http://127.0.0.1:8080 --file rows.csv --accept application/json
  $ modelstack invoke my-prod-endpoint --region eu-west-1 --file rows.csv

Without --body or --file the body is read from standard input.`)
    .action(async (endpointName: string, options: InvokeOptions) => {
      const body = await requestBody(options);
      const client = options.local === undefined ? new SageMakerRuntimeClient(options.region === undefined ? {} : { region: options.region }) : localClient(options.local);
      try {
        const response = await client.send(new InvokeEndpointCommand({
          EndpointName: endpointName,
          Body: body,
          ContentType: options.contentType ?? contentTypeOf(options.file),
          Accept: options.accept,
          CustomAttributes: options.customAttributes,
        }));
        if (options.verbose) {
          process.stderr.write(`ContentType: ${response.ContentType}\nInvokedProductionVariant: ${response.InvokedProductionVariant}\n`);
          if (response.CustomAttributes !== undefined) process.stderr.write(`CustomAttributes: ${response.CustomAttributes}\n`);
        }
        const text = new TextDecoder().decode(response.Body);
        // A reader that leaves early (`| head -c 100`) ends the command quietly instead of with a stack trace.
        stdoutClosed();
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      } catch (error) {
        throw new Error(describeInvokeError(error, endpointName, options.local));
      } finally {
        client.destroy();
      }
    });
}

/** A client for a local server: the SDK signs requests, so it needs some credentials and a region. */
export function localClient(url: string): SageMakerRuntimeClient {
  // `new URL('localhost:8080')` parses (as scheme "localhost:"), so check the scheme too: the SDK
  // would otherwise fail later with nothing better than "UnknownError".
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new Error(`--local must be an http:// or https:// URL such as http://127.0.0.1:8080, not '${url}'`);
  }
  // The SDK's advice to upgrade Node is about AWS support windows, not about a local server.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new SageMakerRuntimeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
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

function describeInvokeError(error: unknown, endpointName: string, local: string | undefined): string {
  if (error instanceof ModelError) {
    return `the model answered ${error.OriginalStatusCode ?? 'an error'}: ${originalMessage(error.OriginalMessage) ?? error.message}`;
  }
  if (error instanceof SageMakerRuntimeServiceException) return `${error.name}: ${error.message}`;
  if (local === undefined) {
    const missing = missingAwsConfiguration(error);
    if (missing !== undefined) return `${missing}\n  (to call a local \`modelstack serve\` instead, add --local http://127.0.0.1:8080)`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (local !== undefined && code === 'ECONNREFUSED') {
    return `nothing is listening at ${local}; start it with \`modelstack serve model.tar.gz --port ${new URL(local).port || 80}\``;
  }
  return `invoking ${endpointName} failed: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * The SDK's words for a machine without AWS configuration ("Could not load credentials from any
 * providers", "Region is missing") say what is wrong but not what to do; say that.
 */
function missingAwsConfiguration(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'CredentialsProviderError') {
    return 'no AWS credentials found to call SageMaker with: run `aws configure`, set AWS_PROFILE to a configured profile, '
      + 'or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (error.message === 'Region is missing') {
    return 'no AWS region to call SageMaker in: pass --region (e.g. --region us-east-1), set AWS_REGION, '
      + 'or set a region in your AWS profile (`aws configure`)';
  }
  return undefined;
}

/** The model's JSON error body carries a readable `message`; show that rather than the JSON. */
function originalMessage(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : text;
  } catch {
    return text;
  }
}
