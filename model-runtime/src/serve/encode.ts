/**
 * Predictions -> response bodies:
 *   application/json       {"predictions": [p, ...]}
 *   text/csv               one line per row: the value(s) for regression, the label for classification
 *   application/jsonlines  one JSON prediction per line
 */
import { jsonNumber, jsonString } from './json-text.ts';
import { CSV_TYPE, JSON_LINES_TYPE, JSON_TYPE, type MediaType } from './media-types.ts';
import type { Prediction } from './predictions.ts';

export function encodeResponse(predictions: readonly Prediction[], type: MediaType): string {
  switch (type) {
    case JSON_TYPE:
      return `{"predictions":[${predictions.map(predictionJson).join(',')}]}`;
    case JSON_LINES_TYPE:
      return predictions.map((prediction) => `${predictionJson(prediction)}\n`).join('');
    case CSV_TYPE:
      return predictions.map((prediction) => `${csvLine(prediction)}\n`).join('');
  }
}

/** JSON.stringify(prediction), character for character, without its generic walk over the object. */
function predictionJson(prediction: Prediction): string {
  if (typeof prediction === 'number') return jsonNumber(prediction);
  if (isValues(prediction)) return `[${prediction.map(jsonNumber).join(',')}]`;
  let probabilities = '';
  for (const label in prediction.probabilities) {
    probabilities += `${probabilities === '' ? '' : ','}${jsonString(label)}:${jsonNumber(prediction.probabilities[label]!)}`;
  }
  return `{"label":${jsonString(prediction.label)},"probabilities":{${probabilities}}}`;
}

function csvLine(prediction: Prediction): string {
  if (typeof prediction === 'number') return String(prediction);
  if (isValues(prediction)) return prediction.join(',');
  return csvField(prediction.label);
}

function isValues(prediction: Prediction): prediction is readonly number[] {
  return Array.isArray(prediction);
}

/** RFC 4180 quoting for labels that contain a comma, quote or newline. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
