import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactIntegrityError,
  computeDigest,
  parseManifest,
  sha256Hex,
  verifyFileHashes,
} from '../../../model-runtime/src/artifact/digest.ts';
import { loadArtifact } from '../../../model-runtime/src/artifact/load.ts';
import { saveArtifact } from '../../../model-runtime/src/artifact/save.ts';
import { tinyDescription, tinyLinearOnnx } from './tiny-onnx.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'modelstack-artifact-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function predict(onnxBytes: Uint8Array, rows: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnxBytes);
  const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
  const out = await session.run({ features: x });
  await session.release();
  return out.output!.data as Float32Array;
}

async function expectIntegrityError(promise: Promise<unknown>): Promise<ArtifactIntegrityError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArtifactIntegrityError);
  return error as ArtifactIntegrityError;
}

describe('saveArtifact / loadArtifact', () => {
  const onnxBytes = tinyLinearOnnx([2, -3], 0.5);
  const description = tinyDescription(['a', 'b']);

  it('round-trips: the loaded model predicts exactly what the saved one did', async () => {
    const manifest = await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    const loaded = await loadArtifact(dir);
    expect(loaded.description).toEqual(description);
    expect(loaded.manifest).toEqual(manifest);
    const rows = [[1, 1], [0.25, -4], [10, 3]];
    const before = await predict(onnxBytes, rows);
    const after = await predict(loaded.onnx, rows);
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(Array.from(after)).toEqual([-0.5, 13, 11.5]);
  });

  it('writes a digest that sha256sum reproduces', async () => {
    const manifest = await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    const listing = execFileSync('sha256sum', ['model.json', 'model.onnx'], { cwd: dir });
    expect(manifest.digest).toBe(sha256Hex(listing));
    expect(Object.keys(manifest.files)).toEqual(['model.json', 'model.onnx']);
  });

  it('records the write time in MANIFEST.json, outside the digest: the same model saved twice has one digest', async () => {
    const first = await saveArtifact(dir, { 'model.onnx': onnxBytes }, description, { createdAt: new Date('2026-01-01T00:00:00Z') });
    const second = await saveArtifact(dir, { 'model.onnx': onnxBytes }, description, { createdAt: new Date('2026-06-30T12:34:56Z') });
    expect(second.digest).toBe(first.digest);
    expect([first.createdAt, second.createdAt]).toEqual(['2026-01-01T00:00:00.000Z', '2026-06-30T12:34:56.000Z']);
    expect((await loadArtifact(dir)).manifest.createdAt).toBe('2026-06-30T12:34:56.000Z');
    expect(await readFile(path.join(dir, 'model.json'), 'utf8')).not.toContain('2026');
  });

  it('refuses a manifest whose digest is not the expected one, naming both, before reading any file', async () => {
    const manifest = await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    const expected = 'e'.repeat(64);
    const error = await expectIntegrityError(loadArtifact(dir, { expectedDigest: expected }));
    expect(error.message).toContain(manifest.digest);
    expect(error.message).toContain(`MODEL_RUNTIME_EXPECTED_DIGEST (the sealed, registered digest) is ${expected}`);
    await expect(loadArtifact(dir, { expectedDigest: manifest.digest.toUpperCase() })).resolves.toMatchObject({ manifest: { digest: manifest.digest } });
  });

  it('refuses a tampered file and names it', async () => {
    await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    const onnxPath = path.join(dir, 'model.onnx');
    const bytes = await readFile(onnxPath);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(onnxPath, bytes);
    const error = await expectIntegrityError(loadArtifact(dir));
    expect(error.changed).toEqual(['model.onnx']);
    expect(error.message).toMatch(/changed: model\.onnx/);
  });

  it('refuses a missing file and names it', async () => {
    await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    await rm(path.join(dir, 'model.json'));
    const error = await expectIntegrityError(loadArtifact(dir));
    expect(error.missing).toEqual(['model.json']);
    expect(error.message).toMatch(/missing: model\.json/);
  });

  it('refuses an extra file and names it', async () => {
    await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    await writeFile(path.join(dir, 'backdoor.onnx'), 'x');
    const error = await expectIntegrityError(loadArtifact(dir));
    expect(error.extra).toEqual(['backdoor.onnx']);
    expect(error.message).toMatch(/not in the manifest: backdoor\.onnx/);
  });

  it('refuses a manifest edited to match a tampered file', async () => {
    await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    const manifestPath = path.join(dir, 'MANIFEST.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    const tampered = new TextEncoder().encode('{}');
    await writeFile(path.join(dir, 'model.json'), tampered);
    manifest.files['model.json'] = sha256Hex(tampered);
    await writeFile(manifestPath, JSON.stringify(manifest));
    const error = await expectIntegrityError(loadArtifact(dir));
    expect(error.message).toMatch(/digest .* does not match its own file list/);
  });

  it('refuses a folder without a manifest', async () => {
    await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    await rm(path.join(dir, 'MANIFEST.json'));
    const error = await expectIntegrityError(loadArtifact(dir));
    expect(error.message).toMatch(/has no MANIFEST\.json/);
  });

  it('refuses to save into a folder holding other files', async () => {
    await writeFile(path.join(dir, 'notes.txt'), 'x');
    await expect(saveArtifact(dir, { 'model.onnx': onnxBytes }, description)).rejects.toThrow(/also holds: notes\.txt/);
  });

  it('overwrites a previous artifact in place', async () => {
    await saveArtifact(dir, { 'model.onnx': tinyLinearOnnx([1, 1], 0) }, description);
    await saveArtifact(dir, { 'model.onnx': onnxBytes }, description);
    const loaded = await loadArtifact(dir);
    expect(Array.from(await predict(loaded.onnx, [[1, 1]]))).toEqual([-0.5]);
  });
});

describe('digest', () => {
  it('is independent of the order files are listed in', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    expect(computeDigest({ x: a, y: b })).toBe(computeDigest({ y: b, x: a }));
    expect(computeDigest({ x: a, y: b })).not.toBe(computeDigest({ x: b, y: a }));
  });

  it('parseManifest rejects a malformed manifest with the field named', () => {
    expect(() => parseManifest('nope')).toThrow(/not valid JSON/);
    expect(() => parseManifest('{"format":"other"}')).toThrow(/format "other"; expected "modelstack-manifest\/1"/);
    expect(() =>
      parseManifest(JSON.stringify({ format: 'modelstack-manifest/1', algorithm: 'sha256', files: { m: 'xyz' }, digest: '' })),
    ).toThrow(/lists m with hash "xyz"/);
    expect(() =>
      parseManifest(
        JSON.stringify({ format: 'modelstack-manifest/1', algorithm: 'sha256', files: { '../etc': 'a'.repeat(64) }, digest: '' }),
      ),
    ).toThrow(/invalid file name "..\/etc"/);
  });

  it('verifyFileHashes names every changed, missing and extra file at once', () => {
    const h = (c: string) => c.repeat(64);
    const manifest = parseManifest(
      JSON.stringify({
        format: 'modelstack-manifest/1',
        algorithm: 'sha256',
        files: { 'a.bin': h('a'), 'b.bin': h('b') },
        digest: computeDigest({ 'a.bin': h('a'), 'b.bin': h('b') }),
      }),
    );
    expect(() => verifyFileHashes(manifest, { 'a.bin': h('a'), 'b.bin': h('b') })).not.toThrow();
    try {
      verifyFileHashes(manifest, { 'a.bin': h('c'), 'c.bin': h('c') });
      expect.unreachable();
    } catch (error) {
      const e = error as ArtifactIntegrityError;
      expect([e.changed, e.missing, e.extra]).toEqual([['a.bin'], ['b.bin'], ['c.bin']]);
    }
  });
});
