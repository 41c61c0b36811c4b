/**
 * A pretrained BERT class sequence classifier served (algorithm=huggingface,
 * task=text-classification): the text classifier's requests and answers
 * (text-classification-request.ts; `[{"label", "score"}]`, top_k, truncation, instances, JSON
 * Lines), the labels from config.json's id2label, the scores from the export's logits: softmax
 * over the labels, or a sigmoid per label when config.json's problem_type is
 * multi_label_classification, as transformers' pipeline does; parameters.function_to_apply
 * ("softmax", "sigmoid", "none") overrides it as it does there.
 */
import type { Manifest } from '../artifact/digest.ts';
import type { LoadedArtifact } from '../artifact/load.ts';
import type { PretrainedModelDescription } from '../artifact/model-description.ts';
import { LOGITS } from '../models/gpt.ts';
import { HttpError } from './http-error.ts';
import { JSON_LINES_TYPE, JSON_TYPE } from './media-types.ts';
import { TEXT_CLASSIFICATION_CONTENT_TYPES, writesResponse } from './served-content-types.ts';
import { PretrainedEncoder, TEXTS_PER_RUN } from './pretrained-encoder.ts';
import type { InvocationAnswer, InvocationRequest, ServedModel, ServedModelOptions } from './served-model.ts';
import { encodeAnswers, type Classification } from './text-classification-model.ts';
import { checkRequestType, parseClassificationRequest, type ScoreFunction } from './text-classification-request.ts';

/** The key of an instance object's text ({"instances": [{"text": ...}]}). */
const TEXT_KEY = 'text';

export class PretrainedClassificationModel implements ServedModel {
  private constructor(
    readonly description: PretrainedModelDescription,
    readonly manifest: Manifest,
    private readonly encoder: PretrainedEncoder,
    private readonly labels: readonly string[],
  ) {}

  static async fromArtifact(artifact: LoadedArtifact & { readonly description: PretrainedModelDescription }, options: ServedModelOptions): Promise<PretrainedClassificationModel> {
    const labels = artifact.description.labels;
    if (labels === null) throw new Error('model.json: a text-classification model needs labels');
    return new PretrainedClassificationModel(artifact.description, artifact.manifest, await PretrainedEncoder.fromArtifact(artifact, () => LOGITS, options), labels);
  }

  get runs(): number {
    return this.encoder.runs;
  }

  async invoke(body: Uint8Array, request: InvocationRequest): Promise<InvocationAnswer> {
    checkRequestType(request.contentType);
    if (!writesResponse(TEXT_CLASSIFICATION_CONTENT_TYPES, request.accept)) {
      throw new HttpError(406, 'NotAcceptable', `a text classifier answers in ${JSON_TYPE} or ${JSON_LINES_TYPE}, not ${request.accept}`);
    }
    const parsed = parseClassificationRequest(body, request.contentType, TEXT_KEY);
    const encoded = this.encoder.encode(parsed.texts, parsed.truncation);
    const k = Math.min(parsed.topK ?? this.labels.length, this.labels.length);
    const answers: Classification[] = [];
    for (let start = 0; start < encoded.length; start += TEXTS_PER_RUN) {
      const chunk = encoded.slice(start, start + TEXTS_PER_RUN);
      const { output } = await this.encoder.run(chunk); // (n, K)
      chunk.forEach((e, row) => {
        const scores = applyScores(parsed.functionToApply ?? this.description.scores ?? 'softmax', output.subarray(row * this.labels.length, (row + 1) * this.labels.length));
        const scored = this.labels.map((label, c) => ({ label, score: scores[c]! }));
        // Best first; ties keep id order, so equal scores answer the same way every time.
        scored.sort((a, b) => b.score - a.score);
        answers.push({ classes: scored.slice(0, k), truncated: e.truncated });
      });
    }
    return { contentType: request.accept, body: encodeAnswers(answers, parsed, request.accept), log: { rows: answers.length } };
  }

  close(): Promise<void> {
    return this.encoder.close();
  }
}

/** One text's logits as scores, as transformers' pipeline applies function_to_apply. */
function applyScores(f: ScoreFunction, logits: Float32Array): number[] {
  if (f === 'none') return Array.from(logits);
  if (f === 'sigmoid') return Array.from(logits, (z) => 1 / (1 + Math.exp(-z)));
  const max = Math.max(...logits);
  const exps = Array.from(logits, (z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
