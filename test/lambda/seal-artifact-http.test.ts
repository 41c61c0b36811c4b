/**
 * The seal step with the real AWS SDK talking HTTP: a loopback server plays SageMaker
 * (DescribeTrainingJob, throttling once first) and S3 (GetObject streaming a real model.tar.gz,
 * Get/PutObjectTagging), so the SDK's own response stream, XML and retry handling are exercised.
 */
import './quiet-logs.ts';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealedFiles, tarGz } from './model-archives.ts';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly target: string | undefined;
  readonly body: string;
}

let server: Server;
let archive: Buffer;
const requests: Recorded[] = [];
let throttledOnce = false;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  archive = await tarGz(sealedFiles());
  server = createServer(async (request, response) => {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'] as string | undefined;
    requests.push({ method: request.method!, url: request.url!, target, body });
    if (target === 'SageMaker.DescribeTrainingJob') {
      if (!throttledOnce) {
        throttledOnce = true;
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ThrottlingException' });
        response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ TrainingJobStatus: 'Completed', ModelArtifacts: { S3ModelArtifacts: 's3://store/models/ms-job/output/model.tar.gz' } }));
      return;
    }
    if (request.url === '/store/models/ms-job/output/model.tar.gz?x-id=GetObject' && request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': archive.length, 'x-amz-version-id': 'v42' });
      // Two writes: the SDK hands the handler a live stream, not a buffered body.
      response.write(archive.subarray(0, 100));
      setTimeout(() => response.end(archive.subarray(100)), 5);
      return;
    }
    if (request.url?.startsWith('/store/models/ms-job/output/model.tar.gz?tagging') && request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet><Tag><Key>team</Key><Value>ml</Value></Tag></TagSet></Tagging>');
      return;
    }
    if (request.url?.startsWith('/store/models/ms-job/output/model.tar.gz?tagging') && request.method === 'PUT') {
      response.writeHead(200, { 'x-amz-version-id': 'v42' });
      response.end();
      return;
    }
    response.writeHead(404, { 'content-type': 'application/xml' });
    response.end(`<Error><Code>NoSuchKey</Code><Message>not here: ${request.method} ${request.url}</Message></Error>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_SAGEMAKER: endpoint,
  });
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('seal over HTTP', () => {
  it('retries the throttled describe, streams the archive, verifies it and tags the version it read', async () => {
    const { handler } = await import('../../lambda/seal-artifact.ts');

    const result = await handler({ trainingJobName: 'ms-job' });

    const sha256 = createHash('sha256').update(archive).digest('hex');
    expect(result).toMatchObject({ versionId: 'v42', archiveSha256: sha256, sizeBytes: archive.length, files: ['model.json', 'model.onnx'] });
    expect(requests.filter((request) => request.target === 'SageMaker.DescribeTrainingJob')).toHaveLength(2);
    const put = requests.find((request) => request.method === 'PUT')!;
    expect(put.url).toContain('versionId=v42');
    expect(put.body).toContain('<Key>team</Key><Value>ml</Value>');
    expect(put.body).toContain(`<Key>modelstack:archive-sha256</Key><Value>${sha256}</Value>`);
    expect(put.body).toContain(`<Key>modelstack:manifest-digest</Key><Value>${result.manifestDigest}</Value>`);
  });
});
