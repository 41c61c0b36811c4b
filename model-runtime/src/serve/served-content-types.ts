/**
 * Which request and response content types each kind of served model takes, in one table: the
 * served models check requests against their entry, and `modelstack inspect` prints it, so what
 * inspect says a model accepts is what the server enforces.
 */
import { PACKAGED_ALGORITHM, PRETRAINED_ALGORITHM, type ModelDescription } from '../artifact/model-description.ts';
import { EVENT_STREAM_TYPE, JPEG_TYPE, JSON_LINES_TYPE, JSON_TYPE, PNG_TYPE, SUPPORTED_MEDIA_TYPES, WAV_TYPE, type MediaType, type RequestMediaType } from './media-types.ts';

export interface ServedContentTypes<Request extends RequestMediaType = RequestMediaType, Response extends string = string> {
  /** Content-Type values a request body may have (a missing one is read as JSON). */
  readonly requests: readonly Request[];
  /** Content types an answer may come in, chosen by Accept. */
  readonly responses: readonly Response[];
}

type Json = typeof JSON_TYPE;
type JsonOrLines = typeof JSON_TYPE | typeof JSON_LINES_TYPE;

/** Rows of features: the three text formats in, any of them out. */
export const TABULAR_CONTENT_TYPES: ServedContentTypes<MediaType, MediaType> = { requests: SUPPORTED_MEDIA_TYPES, responses: SUPPORTED_MEDIA_TYPES };
/** Texts as JSON or one per line; answers in the same two. */
export const TEXT_CLASSIFICATION_CONTENT_TYPES: ServedContentTypes<JsonOrLines, JsonOrLines> = { requests: [JSON_TYPE, JSON_LINES_TYPE], responses: [JSON_TYPE, JSON_LINES_TYPE] };
/** A JSON prompt (or chat messages); a JSON answer, or a stream ("stream": true) as JSON Lines or Server-Sent Events (a chat's always the latter). */
export const TEXT_GENERATION_CONTENT_TYPES: ServedContentTypes<Json> = { requests: [JSON_TYPE], responses: [JSON_TYPE, JSON_LINES_TYPE, EVENT_STREAM_TYPE] };
/** An encoded image, or its pixels as JSON; top classes as JSON. */
export const IMAGE_CONTENT_TYPES: ServedContentTypes<typeof PNG_TYPE | typeof JPEG_TYPE | Json, Json> = { requests: [PNG_TYPE, JPEG_TYPE, JSON_TYPE], responses: [JSON_TYPE] };
/** A WAV recording, or its samples as JSON; top classes as JSON. */
export const AUDIO_CONTENT_TYPES: ServedContentTypes<typeof WAV_TYPE | Json, Json> = { requests: [WAV_TYPE, JSON_TYPE], responses: [JSON_TYPE] };
/** Named tensors, recommendations, embeddings: JSON both ways. */
export const JSON_CONTENT_TYPES: ServedContentTypes<Json, Json> = { requests: [JSON_TYPE], responses: [JSON_TYPE] };

/** The entry for the model model.json describes (the same dispatch as load-served-model.ts). */
export function servedContentTypes(description: ModelDescription): ServedContentTypes {
  switch (description.algorithm) {
    case 'linear-regression':
    case 'logistic-regression':
    case 'mlp':
      return TABULAR_CONTENT_TYPES;
    case 'text-classifier':
      return TEXT_CLASSIFICATION_CONTENT_TYPES;
    case 'language-model':
      return TEXT_GENERATION_CONTENT_TYPES;
    case 'image-classifier':
      return IMAGE_CONTENT_TYPES;
    case 'audio-classifier':
      return AUDIO_CONTENT_TYPES;
    case 'matrix-factorization':
    case PACKAGED_ALGORITHM:
      return JSON_CONTENT_TYPES;
    case PRETRAINED_ALGORITHM:
      switch (description.task) {
        case 'text-generation':
          return TEXT_GENERATION_CONTENT_TYPES;
        case 'text-classification':
          return TEXT_CLASSIFICATION_CONTENT_TYPES;
        case 'feature-extraction':
          return JSON_CONTENT_TYPES;
      }
  }
}

/** Whether `entry` lists `type` among its requests: the served models' 415 check. */
export function readsRequest<Request extends RequestMediaType>(entry: ServedContentTypes<Request, string>, type: RequestMediaType): type is Request {
  return (entry.requests as readonly RequestMediaType[]).includes(type);
}

/** Whether `entry` lists `type` among its answers: the served models' 406 check. */
export function writesResponse<Response extends string>(entry: ServedContentTypes<RequestMediaType, Response>, type: string): type is Response {
  return (entry.responses as readonly string[]).includes(type);
}
