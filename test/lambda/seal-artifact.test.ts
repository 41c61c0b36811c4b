import './quiet-logs.ts';
import { GetObjectCommand, GetObjectTaggingCommand, NoSuchKey, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createHash } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../lambda/seal-artifact.ts';
import { ARTIFACT_TAGS, PACKAGE_METADATA } from '../../lambda/shared/package-metadata.ts';
import { MANIFEST_FILE, parseManifest } from '../../model-runtime/src/artifact/digest.ts';
import { bodyStream, manifestFor, sealedFiles, tarGz, type ArchiveFiles } from './model-archives.ts';

const s3 = mockClient(S3Client);
const sageMaker = mockClient(SageMakerClient);
const ARTIFACT = 's3://store-bucket/models/ms-2611281759-ab12/output/model.tar.gz';
const PACKAGE = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/ms/3';

function serve(archive: Buffer): void {
  s3.on(GetObjectCommand, { Bucket: 'store-bucket', Key: 'models/ms-2611281759-ab12/output/model.tar.gz' }).callsFake(() => ({
    Body: bodyStream(archive),
    VersionId: 'version-7',
  }));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

beforeEach(() => {
  s3.reset();
  sageMaker.reset();
  sageMaker.on(DescribeTrainingJobCommand).resolves({ TrainingJobStatus: 'Completed', ModelArtifacts: { S3ModelArtifacts: ARTIFACT } });
  s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'ml' }] });
  s3.on(PutObjectTaggingCommand).resolves({});
});

describe('seal after training', () => {
  it('verifies every file against MANIFEST.json and tags the version it read with both digests', async () => {
    const files = sealedFiles();
    const archive = await tarGz(files);
    serve(archive);

    const result = await handler({ trainingJobName: 'ms-2611281759-ab12' });

    const manifest = parseManifest(files[MANIFEST_FILE] as string);
    expect(result).toEqual({
      artifactUri: ARTIFACT,
      versionId: 'version-7',
      archiveSha256: sha256(archive),
      manifestDigest: manifest.digest,
      sizeBytes: archive.length,
      files: ['model.json', 'model.onnx'],
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectTaggingCommand, {
      Bucket: 'store-bucket',
      Key: 'models/ms-2611281759-ab12/output/model.tar.gz',
      VersionId: 'version-7',
      Tagging: {
        TagSet: [
          { Key: 'team', Value: 'ml' },
          { Key: ARTIFACT_TAGS.archiveSha256, Value: sha256(archive) },
          { Key: ARTIFACT_TAGS.manifestDigest, Value: manifest.digest },
        ],
      },
    });
  });

  it.each<[string, (files: ArchiveFiles) => ArchiveFiles, RegExp]>([
    ['a file changed after sealing', (files) => ({ ...files, 'model.onnx': new Uint8Array(4096) }), /changed: model\.onnx/],
    ['a file missing', ({ 'model.json': _dropped, ...rest }) => rest, /missing: model\.json/],
    ['a file the manifest does not list', (files) => ({ ...files, 'notes.txt': 'hello' }), /not in the manifest: notes\.txt/],
    ['no manifest', ({ [MANIFEST_FILE]: _dropped, ...rest }) => rest, /holds no MANIFEST\.json/],
    [
      'a manifest edited to match a tampered file',
      (files) => {
        const tampered = { 'model.onnx': new Uint8Array(10), 'model.json': files['model.json']! };
        const manifest = JSON.parse(manifestFor(tampered)) as { digest: string };
        return { ...tampered, [MANIFEST_FILE]: JSON.stringify({ ...manifest, digest: '0'.repeat(64) }) };
      },
      /does not match its own file list/,
    ],
  ])('fails closed on %s and tags nothing', async (_case, change, message) => {
    serve(await tarGz(change(sealedFiles())));

    const sealing = handler({ trainingJobName: 'ms-2611281759-ab12' });

    await expect(sealing).rejects.toMatchObject({ name: 'ArtifactIntegrityError', message: expect.stringMatching(message) });
    expect(s3).not.toHaveReceivedCommand(PutObjectTaggingCommand);
  });

  it('fails closed on a truncated archive', async () => {
    const archive = await tarGz(sealedFiles());
    serve(archive.subarray(0, Math.floor(archive.length / 2)));

    await expect(handler({ trainingJobName: 'ms-2611281759-ab12' })).rejects.toMatchObject({ name: 'ArtifactIntegrityError' });
    expect(s3).not.toHaveReceivedCommand(PutObjectTaggingCommand);
  });

  it('reports a missing artifact by its URI', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));

    await expect(handler({ trainingJobName: 'ms-2611281759-ab12' })).rejects.toMatchObject({
      name: 'ArtifactMissingError',
      message: expect.stringContaining(ARTIFACT),
    });
  });

  it('reports a training job without a model artifact', async () => {
    sageMaker.on(DescribeTrainingJobCommand).resolves({ TrainingJobStatus: 'Failed' });

    await expect(handler({ trainingJobName: 'ms-2611281759-ab12' })).rejects.toMatchObject({
      name: 'ArtifactMissingError',
      message: expect.stringContaining('ms-2611281759-ab12 (Failed) reports no model artifact'),
    });
  });

  it('lets a throttled SageMaker call fail with its own error name, which the state machine retries', async () => {
    sageMaker.on(DescribeTrainingJobCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler({ trainingJobName: 'ms-2611281759-ab12' })).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('names the expected input when given neither a job nor a package', async () => {
    await expect(handler({} as never)).rejects.toThrow(/expects \{"trainingJobName": "\.\.\."\}/);
  });
});

describe('verify before deploying', () => {
  async function registered(archive: Buffer, metadata: Record<string, string>): Promise<void> {
    serve(archive);
    sageMaker.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: { Containers: [{ Image: 'image', ModelDataUrl: ARTIFACT }] },
      CustomerMetadataProperties: metadata,
    });
  }

  it('passes when the archive still has the digests recorded on the package', async () => {
    const files = sealedFiles();
    const archive = await tarGz(files);
    const digest = parseManifest(files[MANIFEST_FILE] as string).digest;
    await registered(archive, { [PACKAGE_METADATA.archiveSha256]: sha256(archive), [PACKAGE_METADATA.manifestDigest]: digest });

    const result = await handler({ modelPackageArn: PACKAGE });

    expect(result.archiveSha256).toBe(sha256(archive));
    expect(s3).not.toHaveReceivedCommand(PutObjectTaggingCommand);
  });

  it('fails closed when the archive was replaced after registration, even by another sealed artifact', async () => {
    const original = await tarGz(sealedFiles());
    const replacement = await tarGz(sealedFiles({ format: 'modelstack/1', algorithm: 'mlp' }));
    await registered(replacement, {
      [PACKAGE_METADATA.archiveSha256]: sha256(original),
      [PACKAGE_METADATA.manifestDigest]: parseManifest(sealedFiles()[MANIFEST_FILE] as string).digest,
    });

    await expect(handler({ modelPackageArn: PACKAGE })).rejects.toMatchObject({
      name: 'ArtifactIntegrityError',
      message: expect.stringMatching(/changed since model package .* was registered: archive SHA-256 is/),
    });
  });

  it('refuses a package that records no digests', async () => {
    await registered(await tarGz(sealedFiles()), {});

    await expect(handler({ modelPackageArn: PACKAGE })).rejects.toMatchObject({
      name: 'ArtifactIntegrityError',
      message: expect.stringContaining('was not sealed by this pipeline'),
    });
  });
});
