/**
 * A packaged ONNX model served as it is (`modelstack package model.onnx --task tensors`): the
 * request names each input tensor (tensor-payload.ts: this runtime's schema or KServe v2's),
 * one ONNX Runtime run computes every output (or those asked for), and the answer names them
 * back. No preprocessing, no labels: the model's own inputs and outputs are the interface.
 */
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { PackagedModelDescription, TensorSpec } from '../artifact/model-description.ts';
import { createSession } from '../engine/session.ts';
import { parseJson } from './decode.ts';
import { HttpError, badRequest } from './http-error.ts';
import { JSON_TYPE } from './media-types.ts';
import { JSON_CONTENT_TYPES, readsRequest, writesResponse } from './served-content-types.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';
import { decodeTensorRequest, encodeTensorResponse } from './tensor-payload.ts';

export class TensorModel implements ServedModel {
  runs = 0;

  private constructor(
    readonly description: PackagedModelDescription,
    readonly manifest: Manifest,
    private readonly session: ort.InferenceSession,
  ) {}

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: PackagedModelDescription }, options: ServedModelOptions): Promise<TensorModel> {
    const session = await createSession(artifact.onnx, { intraOpNumThreads: options.threads });
    try {
      checkDeclared(session, artifact.description);
    } catch (error) {
      await session.release();
      throw error;
    }
    return new TensorModel(artifact.description, artifact.manifest, session);
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    if (!readsRequest(JSON_CONTENT_TYPES, request.contentType)) {
      throw new HttpError(415, 'UnsupportedMediaType', `a tensors model takes ${JSON_TYPE} bodies of named tensors, not ${request.contentType}`);
    }
    if (!writesResponse(JSON_CONTENT_TYPES, request.accept)) {
      throw new HttpError(406, 'NotAcceptable', `a tensors model answers ${JSON_TYPE} only, not ${request.accept}`);
    }
    const decoded = decodeTensorRequest(parseJson(Buffer.from(body).toString('utf8'), 'body'), this.description.inputs);
    const names = decoded.outputs ?? this.description.outputs.map((o) => o.name);
    const unknown = names.filter((n) => !this.description.outputs.some((o) => o.name === n));
    if (unknown.length > 0) {
      throw badRequest(`the model has no output named ${unknown.map((n) => `"${n}"`).join(', ')}; its outputs are ${this.description.outputs.map((o) => `"${o.name}"`).join(', ')}`);
    }
    this.runs += 1;
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(decoded.feeds, names);
    } catch (error) {
      // Shapes were checked against what the file declares; what is left (sizes that must agree
      // between inputs, values a kernel refuses) is still the request's doing.
      throw badRequest(`the model could not run on these inputs: ${(error as Error).message.split('\n')[0]}`);
    }
    return {
      contentType: JSON_TYPE,
      body: encodeTensorResponse(decoded.schema, this.description.name, results as Record<string, ort.Tensor>),
      log: { rows: 1 },
    };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** The tensors an ONNX session declares, as model.json records them. */
export function declaredTensors(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new Error(`${m.name} is not a tensor (sequences and maps cannot be sent as named tensors)`);
    return { name: m.name, dtype: m.type, shape: [...m.shape] };
  });
}

/** model.json must describe the file it sits beside: a mismatch fails /ping with the reason. */
function checkDeclared(session: ort.InferenceSession, description: PackagedModelDescription): void {
  const inFile = JSON.stringify([declaredTensors(session.inputMetadata), declaredTensors(session.outputMetadata)]);
  const inJson = JSON.stringify([description.inputs, description.outputs]);
  if (inFile !== inJson) throw new Error(`model.json's inputs and outputs (${inJson}) are not what model.onnx declares (${inFile})`);
}
