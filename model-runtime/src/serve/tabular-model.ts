/**
 * A tabular model served (linear-regression, logistic-regression, mlp): request rows in JSON,
 * CSV or JSON Lines are decoded into the feature matrix, run through the dynamic batcher
 * (concurrent requests share one forward pass), and the output is interpreted and encoded in
 * the accepted format.
 */
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { TabularModelDescription } from '../artifact/model-description.ts';
import { decodeRequest } from './decode.ts';
import { DynamicBatcher } from './dynamic-batcher.ts';
import { encodeResponse } from './encode.ts';
import { HttpError } from './http-error.ts';
import { InferenceModel } from './inference-model.ts';
import { SUPPORTED_MEDIA_TYPES } from './media-types.ts';
import { readsRequest, TABULAR_CONTENT_TYPES } from './served-content-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';

export class TabularModel implements ServedModel {
  private readonly batcher: DynamicBatcher;

  private constructor(
    private readonly model: InferenceModel,
    options: ServedModelOptions,
  ) {
    this.batcher = new DynamicBatcher(model, options.batching);
  }

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: TabularModelDescription }, options: ServedModelOptions): Promise<TabularModel> {
    return TabularModel.serving(await InferenceModel.fromArtifact(artifact, options), options);
  }

  /** Serves a model already loaded (closing this closes it). */
  static serving(model: InferenceModel, options: Pick<ServedModelOptions, 'batching'> = {}): TabularModel {
    return new TabularModel(model, options);
  }

  get description(): TabularModelDescription {
    return this.model.description;
  }

  get manifest(): Manifest {
    return this.model.manifest;
  }

  get runs(): number {
    return this.model.runs;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    if (request.eventStream) throw new HttpError(406, 'NotAcceptable', 'text/event-stream is for streamed text generation; predictions come as application/json, text/csv or application/jsonlines');
    if (!readsRequest(TABULAR_CONTENT_TYPES, request.contentType)) {
      throw new HttpError(415, 'UnsupportedMediaType', `this ${this.description.algorithm} model reads rows of features as ${SUPPORTED_MEDIA_TYPES.join(', ')}, not ${request.contentType}`);
    }
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const features = decodeRequest(text, request.contentType, this.model.featureDecoder);
    const result = await this.batcher.predict(features);
    const predictions = this.model.outputInterpreter.interpret(result.output, features.count);
    return {
      contentType: request.accept,
      body: encodeResponse(predictions, request.accept),
      log: { rows: features.count, batchRows: result.batchRows, batchRequests: result.batchRequests },
    };
  }

  close(): Promise<void> {
    return this.model.close();
  }
}
