/**
 * The seam between the HTTP server and what it serves: a loaded, verified model that answers
 * one invocation's body. The server owns the contract around it (routes, formats negotiated,
 * payload limit, timeout, errors, logs); each kind of model owns how a body becomes its answer.
 *
 *   linear-regression, logistic-regression, mlp   tabular-model.ts (rows of features, dynamic batching)
 *   text-classifier                               text-classification-model.ts
 *   language-model                                text-generation-model.ts
 *   image-classifier, audio-classifier            cnn-classifier-model.ts
 *   onnx (packaged, --task tensors)               tensor-model.ts
 *   huggingface (a pretrained export)             text-generation-model.ts, pretrained-classification-model.ts,
 *                                                 pretrained-embedding-model.ts, by its task
 *
 * load-served-model.ts verifies the artifact once (MANIFEST.json, and the sealed digest when
 * given) and hands it to the loader model.json's algorithm names.
 */
import type { Manifest } from '../artifact/digest.ts';
import type { ModelDescription } from '../artifact/model-description.ts';
import type { DynamicBatcherOptions } from './dynamic-batcher.ts';
import type { HttpError } from './http-error.ts';
import type { RequestLogFields } from './log.ts';
import type { MediaType, RequestMediaType } from './media-types.ts';

/** One invocation as the server has read it: the negotiated formats, and what SageMaker passes through. */
export interface InvocationRequest {
  /** The body's format, from Content-Type (JSON when absent): text, or an image or sound. */
  readonly contentType: RequestMediaType;
  /** The answer's format, from Accept (the request's own format when absent or `*\/*`). */
  readonly accept: MediaType;
  /** Accept names text/event-stream: a streamed answer is wanted as Server-Sent Events (`accept` is then JSON). */
  readonly eventStream: boolean;
}

export interface InvocationAnswer {
  readonly contentType: string;
  readonly body: string;
  /** This request's fields of the log line (rows at least). */
  readonly log: RequestLogFields;
}

/**
 * An answer sent as it is made (a generation's tokens). The pieces are pulled one at a time as
 * the connection takes them, and `chunks.return()` (a client gone, the timeout) stops the work:
 * one async iterator per request, whatever produces it (for generation, a scheduler sharing
 * decoder runs between requests, which buffers a slow reader's tokens rather than slow the batch).
 */
export interface StreamedInvocationAnswer {
  readonly contentType: string;
  /** The body's pieces; an HttpError thrown before the first is answered with its status. */
  readonly chunks: AsyncGenerator<string, void, undefined>;
  /** The last piece of a stream that fails after its first piece, when the status is already sent. */
  failure(error: HttpError): string;
  readonly log: RequestLogFields;
}

export interface ServedModel {
  readonly description: ModelDescription;
  readonly manifest: Manifest;
  /** ONNX Runtime runs made so far (batching makes it smaller than the request count); absent where not counted. */
  readonly runs?: number;
  /** Answers one body; throws an HttpError (400, 406, 415, ...) naming what was wrong with it. */
  invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer | StreamedInvocationAnswer>;
  close(): Promise<void>;
}

export interface ServedModelOptions {
  /**
   * ONNX Runtime intra-op threads per session.
   * @default available cores
   */
  readonly threads?: number;
  /**
   * The sealed manifest digest (MODEL_RUNTIME_EXPECTED_DIGEST): any other is refused.
   * @default not checked
   */
  readonly expectedDigest?: string | null;
  /** How concurrent requests share forward passes (models that batch them). */
  readonly batching?: DynamicBatcherOptions;
}
