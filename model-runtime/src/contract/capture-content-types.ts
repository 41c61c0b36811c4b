/**
 * The request and response content types SageMaker data capture should store as text rather
 * than base64: the formats the server reads and writes (serve/media-types.ts). Shared by the
 * CloudFormation endpoint (lib/endpoint/inference-endpoint.ts) and the endpoints the pipeline creates
 * (lambda/deploy-model.ts), so captured data looks the same whichever created the endpoint.
 */
export const CAPTURE_JSON_CONTENT_TYPES = ['application/json', 'application/jsonlines'] as const;
export const CAPTURE_CSV_CONTENT_TYPES = ['text/csv'] as const;
