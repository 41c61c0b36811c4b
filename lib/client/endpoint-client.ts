/**
 * A client for applications that call a modelstack endpoint: rows in, typed predictions out,
 * over the AWS SDK's InvokeEndpoint, against AWS or a local `modelstack serve` alike.
 *
 *   const client = new EndpointClient({ endpointName: 'my-endpoint', url: 'http://127.0.0.1:8080' });
 *   const [y] = await client.regress([[1.5]]);                   // 4.01
 *   const [{ label, probabilities }] = await client.classify([{ sepal_length: 5.1, ... }]);
 *   const text = await client.generate('ROMEO:', { max_new_tokens: 50 });   // a language model
 *   for await (const piece of client.generateStream('ROMEO:')) process.stdout.write(piece);
 *
 * Every failure is an EndpointError (see endpoint-error.ts).
 */
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ClassPrediction, Prediction } from '../../model-runtime/src/serve/predictions.ts';
import { EndpointError, endpointErrorFrom, type SettingNames } from './endpoint-error.ts';
import { CONTENT_TYPES, encodeRows, type FeatureRow, type RequestFormat } from './request-body.ts';
import { linesOf, tokenText } from './token-stream.ts';

/**
 * Hugging Face's text-generation parameters, as the endpoint takes them (snake_case, the schema
 * TGI and this runtime share). Every one is optional; the endpoint's defaults are greedy and 20 tokens.
 */
export interface GenerationParameters {
  readonly max_new_tokens?: number;
  readonly temperature?: number;
  readonly top_k?: number;
  readonly top_p?: number;
  readonly do_sample?: boolean;
  readonly seed?: number;
  readonly stop?: readonly string[];
  readonly return_full_text?: boolean;
  /** > 0, 1 = off (CTRL's rule over the prompt's and the text's tokens). */
  readonly repetition_penalty?: number;
  /** -2 to 2, 0 = off (TGI's rule: each token's share of the prompt and the text). */
  readonly frequency_penalty?: number;
  /** Feed only the prompt's last N tokens. */
  readonly truncate?: number;
}

export type { ClassPrediction, Prediction };

export interface EndpointClientProps {
  /** The SageMaker endpoint's name (any name for a local server). */
  readonly endpointName: string;
  /**
   * A local `modelstack serve`, e.g. `http://127.0.0.1:8080`. The SDK signs every request, so the
   * client signs with placeholder credentials in us-east-1; nothing leaves the machine.
   * @default undefined: call SageMaker in AWS
   */
  readonly url?: string;
  /** @default the SDK's own configuration (AWS_REGION, the profile's region) */
  readonly region?: string;
  /**
   * An SDK client of your own (credentials, retries, a proxy). `url` and `region` are then ignored.
   * @default a client made from `url` or `region`
   */
  readonly sdkClient?: SageMakerRuntimeClient;
  /** How rows travel to the model. @default 'json' */
  readonly format?: RequestFormat;
}

export interface InvokeOptions {
  /** Overrides the client's format for this call. @default the client's `format` */
  readonly format?: RequestFormat;
  /** `X-Amzn-SageMaker-Custom-Attributes`: passed to the model and returned in the result. @default none */
  readonly customAttributes?: string;
  /** The production variant to call (endpoints with several). @default SageMaker's traffic split */
  readonly targetVariant?: string;
}

export interface Invocation<P extends Prediction = Prediction> {
  /** One prediction per row, in the rows' order. */
  readonly predictions: P[];
  /** The production variant that answered (`AllTraffic` locally). */
  readonly variant: string | undefined;
  readonly customAttributes: string | undefined;
}

/** An answer as the endpoint sent it, for callers that pass bodies through (the CLI). */
export interface RawInvocation {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  readonly variant: string | undefined;
  readonly customAttributes: string | undefined;
}

export interface SendOptions {
  readonly contentType: string;
  /** @default the server's choice (JSON) */
  readonly accept?: string;
  readonly customAttributes?: string;
  readonly targetVariant?: string;
}

/** How the client's own props are named in error messages; the CLI names its flags instead. */
const CLIENT_SETTINGS: SettingNames = { region: 'the region prop', url: 'url', urlExample: "url: 'http://127.0.0.1:8080' to the EndpointClient's props" };

export class EndpointClient {
  readonly endpointName: string;
  private readonly sdk: SageMakerRuntimeClient;
  private readonly url: string | undefined;
  private readonly format: RequestFormat;
  private readonly settingNames: SettingNames;

  constructor(props: EndpointClientProps, settingNames: SettingNames = CLIENT_SETTINGS) {
    if (typeof props.endpointName !== 'string' || props.endpointName === '') {
      throw new EndpointError('validation', 'endpointName must name the endpoint to call (any name for a local server)', undefined);
    }
    const format = props.format ?? 'json';
    if (!(format in CONTENT_TYPES)) throw new EndpointError('validation', `format must be 'json' or 'csv', not ${JSON.stringify(format)}`, undefined);
    this.endpointName = props.endpointName;
    this.url = props.sdkClient === undefined ? props.url : undefined;
    this.format = format;
    this.settingNames = settingNames;
    this.sdk = props.sdkClient
      ?? (props.url !== undefined ? localSdkClient(props.url, settingNames) : new SageMakerRuntimeClient(props.region === undefined ? {} : { region: props.region }));
  }

  /** Predictions for `rows`, with the variant that answered and the custom attributes it returned. */
  async invoke(rows: readonly FeatureRow[], options: InvokeOptions = {}): Promise<Invocation> {
    const format = options.format ?? this.format;
    const answer = await this.send(encodeRows(rows, format), {
      contentType: CONTENT_TYPES[format],
      accept: 'application/json',
      customAttributes: options.customAttributes,
      targetVariant: options.targetVariant,
    });
    return { predictions: this.predictionsOf(answer, rows.length), variant: answer.variant, customAttributes: answer.customAttributes };
  }

  /** One prediction per row: a number (regression), several (several targets), or a label with probabilities. */
  async predict(rows: readonly FeatureRow[], options?: InvokeOptions): Promise<Prediction[]> {
    return (await this.invoke(rows, options)).predictions;
  }

  /** The value a regression model predicts for each row. */
  async regress(rows: readonly FeatureRow[], options?: InvokeOptions): Promise<number[]> {
    const predictions = await this.predict(rows, options);
    if (!predictions.every((p): p is number => typeof p === 'number')) {
      throw new EndpointError('response', `${this.endpointName} does not serve a single-target regression model (it answered ${describe(predictions[0])}): use classify() for a classifier, predict() for several targets`, undefined);
    }
    return predictions;
  }

  /** The label a classifier picks for each row, with every class's probability. */
  async classify(rows: readonly FeatureRow[], options?: InvokeOptions): Promise<ClassPrediction[]> {
    const predictions = await this.predict(rows, options);
    if (!predictions.every(isClassPrediction)) {
      throw new EndpointError('response', `${this.endpointName} does not serve a classifier (it answered ${describe(predictions[0])}): use regress() or predict() for a regression model`, undefined);
    }
    return predictions;
  }

  /** The text a language model endpoint continues `prompt` with. */
  async generate(prompt: string, parameters: GenerationParameters = {}, options: Pick<InvokeOptions, 'customAttributes' | 'targetVariant'> = {}): Promise<string> {
    const answer = await this.send(JSON.stringify({ inputs: prompt, parameters }), { contentType: 'application/json', accept: 'application/json', ...options });
    const text = new TextDecoder().decode(answer.body);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      document = undefined;
    }
    const generated = Array.isArray(document) ? (document[0] as { generated_text?: unknown } | undefined)?.generated_text : undefined;
    if (typeof generated !== 'string') {
      throw new EndpointError('response', `${this.endpointName} does not serve a language model (expected [{"generated_text": ...}], it answered ${text.slice(0, 100)})`, undefined);
    }
    return generated;
  }

  /**
   * The continuation of `prompt` as it is generated, one piece of text per token, over
   * InvokeEndpointWithResponseStream (`"stream": true`). The pieces add up to what generate()
   * answers for the same seed. A failure midway throws an EndpointError from the iteration;
   * leaving the loop early stops the generation on the endpoint.
   */
  async *generateStream(prompt: string, parameters: GenerationParameters = {}, options: Pick<InvokeOptions, 'customAttributes' | 'targetVariant'> = {}): AsyncGenerator<string, void, undefined> {
    const parts = this.sendStream(JSON.stringify({ inputs: prompt, parameters, stream: true }), { contentType: 'application/json', accept: 'application/jsonlines', ...options });
    for await (const line of linesOf(parts)) {
      const text = tokenText(line, this.endpointName);
      if (text !== undefined && text !== '') yield text;
    }
  }

  /**
   * One InvokeEndpointWithResponseStream call with a body as it is: the payload parts' bytes as
   * they arrive (parts do not follow the answer's lines; see token-stream.ts). Errors, before the
   * stream or inside it (ModelStreamError), are thrown as EndpointErrors.
   */
  async *sendStream(body: Uint8Array | string, options: SendOptions): AsyncGenerator<Uint8Array, void, undefined> {
    const abort = new AbortController();
    try {
      const response = await this.sdk.send(new InvokeEndpointWithResponseStreamCommand(this.commandInput(body, options)), { abortSignal: abort.signal });
      for await (const event of response.Body ?? []) {
        if (event.PayloadPart?.Bytes !== undefined) yield event.PayloadPart.Bytes;
      }
    } catch (error) {
      throw endpointErrorFrom(error, this.endpointName, this.url, this.settingNames);
    } finally {
      // Left early: close the connection, so the endpoint stops generating.
      abort.abort();
    }
  }

  /** One InvokeEndpoint call with a body as it is; errors mapped as for invoke(). */
  async send(body: Uint8Array | string, options: SendOptions): Promise<RawInvocation> {
    try {
      const response = await this.sdk.send(new InvokeEndpointCommand(this.commandInput(body, options)));
      return {
        body: response.Body ?? new Uint8Array(),
        contentType: response.ContentType,
        variant: response.InvokedProductionVariant,
        customAttributes: response.CustomAttributes,
      };
    } catch (error) {
      throw endpointErrorFrom(error, this.endpointName, this.url, this.settingNames);
    }
  }

  /** What InvokeEndpoint and InvokeEndpointWithResponseStream share of their input. */
  private commandInput(body: Uint8Array | string, options: SendOptions) {
    return {
      EndpointName: this.endpointName,
      Body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
      ContentType: options.contentType,
      Accept: options.accept,
      CustomAttributes: options.customAttributes,
      TargetVariant: options.targetVariant,
    };
  }

    /** Closes the SDK client's connections. */
  destroy(): void {
    this.sdk.destroy();
  }

  private predictionsOf(answer: RawInvocation, rowCount: number): Prediction[] {
    const text = new TextDecoder().decode(answer.body);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new EndpointError('response', `${this.endpointName} answered ${answer.contentType ?? 'a body'} that is not JSON: ${text.slice(0, 100)}`, undefined);
    }
    const predictions = (document as { predictions?: unknown } | null)?.predictions;
    if (!Array.isArray(predictions) || predictions.length !== rowCount) {
      throw new EndpointError('response', `${this.endpointName} answered without one prediction per row (expected {"predictions": [...]} with ${rowCount}): ${text.slice(0, 100)}`, undefined);
    }
    return predictions as Prediction[];
  }
}

/** An SDK client for a local server: the SDK signs requests, so it needs some credentials and a region. */
function localSdkClient(url: string, names: SettingNames): SageMakerRuntimeClient {
  // `new URL('localhost:8080')` parses (as scheme "localhost:"), so check the scheme too: the SDK
  // would otherwise fail later with nothing better than "UnknownError".
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new EndpointError('validation', `${names.url} must be an http:// or https:// URL such as http://127.0.0.1:8080, not '${url}'`, undefined);
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

function isClassPrediction(prediction: Prediction): prediction is ClassPrediction {
  return typeof prediction === 'object' && !Array.isArray(prediction) && typeof (prediction as ClassPrediction).label === 'string';
}

function describe(prediction: Prediction | undefined): string {
  const text = JSON.stringify(prediction) ?? String(prediction);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
