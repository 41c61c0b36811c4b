/**
 * Named tensors in and out of a model served as it is (`task: tensors`), in two schemas:
 *
 *   this runtime's   {"inputs": {"x": {"shape": [1, 3], "data": [...], "dtype": "float32"}}}
 *                    -> {"outputs": {"y": {"shape": [...], "dtype": "float32", "data": [...]}}}
 *   KServe v2        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [...]}]}
 *                    -> {"model_name": ..., "outputs": [{"name": "y", "shape": [...], "datatype": "FP32", "data": [...]}]}
 *
 * The answer comes in the schema the request used. Every input is checked against what the
 * model declares (its name, element type, rank and fixed dimensions) before ONNX Runtime sees
 * it, so a mistake is a 400 that names the input and what it should be, not a 500 from a kernel.
 */
import * as ort from 'onnxruntime-node';
import { badRequest } from './http-error.ts';

/** The element types accepted here: ONNX Runtime's name, and KServe v2's. */
const DTYPES = {
  float32: 'FP32',
  float64: 'FP64',
  int32: 'INT32',
  int64: 'INT64',
  int8: 'INT8',
  uint8: 'UINT8',
  int16: 'INT16',
  uint16: 'UINT16',
  bool: 'BOOL',
} as const;
export type TensorDtype = keyof typeof DTYPES;
const FROM_KSERVE = Object.fromEntries(Object.entries(DTYPES).map(([ort, kserve]) => [kserve, ort])) as Record<string, TensorDtype>;

/** What a model declares of one input or output. */
export interface DeclaredTensor {
  readonly name: string;
  readonly dtype: string;
  /** Fixed sizes, or a symbol (any size). */
  readonly shape: readonly (number | string)[];
}

export type PayloadSchema = 'named' | 'kserve-v2';

export interface DecodedTensors {
  readonly schema: PayloadSchema;
  readonly feeds: Record<string, ort.Tensor>;
  /** Output names asked for (KServe v2's `outputs`); null = all. */
  readonly outputs: readonly string[] | null;
}

/** Largest tensor accepted, in elements (the 6 MB payload limit holds fewer numbers anyway). */
const MAX_ELEMENTS = 16 * 1024 * 1024;

export function decodeTensorRequest(body: unknown, declared: readonly DeclaredTensor[]): DecodedTensors {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('inputs' in body)) {
    throw badRequest(`the body must be a JSON object with "inputs": {"${declared[0]?.name ?? 'name'}": {"shape": [...], "data": [...], "dtype": "float32"}} (or KServe v2's "inputs": [{"name", "shape", "datatype", "data"}])`);
  }
  const { inputs } = body as { inputs: unknown };
  const raw: { name: string; spec: unknown; dtypeKey: 'dtype' | 'datatype' }[] = [];
  let schema: PayloadSchema;
  if (Array.isArray(inputs)) {
    schema = 'kserve-v2';
    inputs.forEach((entry, i) => {
      if (typeof entry !== 'object' || entry === null || typeof (entry as { name?: unknown }).name !== 'string') {
        throw badRequest(`inputs[${i}] must be an object with a "name" string, "shape", "datatype" and "data"`);
      }
      raw.push({ name: (entry as { name: string }).name, spec: entry, dtypeKey: 'datatype' });
    });
  } else if (typeof inputs === 'object' && inputs !== null) {
    schema = 'named';
    for (const [name, spec] of Object.entries(inputs)) raw.push({ name, spec, dtypeKey: 'dtype' });
  } else {
    throw badRequest('"inputs" must be an object of named tensors or a KServe v2 list of them');
  }

  const byName = new Map(declared.map((d) => [d.name, d]));
  const seen = new Set<string>();
  const feeds: Record<string, ort.Tensor> = {};
  for (const { name, spec, dtypeKey } of raw) {
    const expected = byName.get(name);
    if (expected === undefined) throw badRequest(`the model has no input named "${name}"; its inputs are ${describeAll(declared)}`);
    if (seen.has(name)) throw badRequest(`input "${name}" is given twice`);
    seen.add(name);
    feeds[name] = decodeTensor(name, spec, dtypeKey, expected);
  }
  const missing = declared.filter((d) => !seen.has(d.name));
  if (missing.length > 0) throw badRequest(`missing input${missing.length > 1 ? 's' : ''} ${describeAll(missing)}`);
  return { schema, feeds, outputs: schema === 'kserve-v2' ? requestedOutputs(body) : null };
}

function requestedOutputs(body: object): readonly string[] | null {
  const outputs = (body as { outputs?: unknown }).outputs;
  if (outputs === undefined) return null;
  if (!Array.isArray(outputs) || outputs.some((o) => typeof o !== 'object' || o === null || typeof (o as { name?: unknown }).name !== 'string')) {
    throw badRequest('"outputs" must be a list of {"name": "..."} objects');
  }
  return outputs.map((o) => (o as { name: string }).name);
}

function decodeTensor(name: string, spec: unknown, dtypeKey: 'dtype' | 'datatype', expected: DeclaredTensor): ort.Tensor {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw badRequest(`input "${name}" must be an object with "shape", "data" and "${dtypeKey}"`);
  }
  const { shape, data } = spec as { shape?: unknown; data?: unknown };
  const given = (spec as Record<string, unknown>)[dtypeKey];
  const dtype = given === undefined ? (expected.dtype as TensorDtype) : dtypeKey === 'datatype' ? FROM_KSERVE[String(given)] : (given as TensorDtype);
  if (dtype === undefined || !(dtype in DTYPES)) {
    const allowed = dtypeKey === 'datatype' ? Object.values(DTYPES).join(', ') : Object.keys(DTYPES).join(', ');
    throw badRequest(`input "${name}" has ${dtypeKey} ${JSON.stringify(given)}; use one of ${allowed}`);
  }
  if (dtype !== expected.dtype) {
    throw badRequest(`input "${name}" is ${dtype}, but the model takes ${expected.dtype}${dtypeKey === 'datatype' ? ` (${DTYPES[expected.dtype as TensorDtype] ?? expected.dtype})` : ''}`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || (d as number) < 0)) {
    throw badRequest(`input "${name}" needs "shape": a list of whole numbers >= 0, got ${JSON.stringify(shape)}`);
  }
  const dims = shape as number[];
  if (dims.length !== expected.shape.length) {
    throw badRequest(`input "${name}" has rank ${dims.length} (${JSON.stringify(dims)}), but the model takes rank ${expected.shape.length}: ${describe(expected)}`);
  }
  dims.forEach((d, i) => {
    const want = expected.shape[i];
    if (typeof want === 'number' && want >= 0 && want !== d) {
      throw badRequest(`input "${name}" has size ${d} on axis ${i}, but the model takes ${want} there: ${describe(expected)}`);
    }
  });
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) throw badRequest(`input "${name}" has ${count} elements; at most ${MAX_ELEMENTS} are accepted`);
  const values = flatten(name, data);
  if (values.length !== count) {
    throw badRequest(`input "${name}" has ${values.length} values in "data", but shape ${JSON.stringify(dims)} needs ${count}`);
  }
  return toTensor(name, dtype, values, dims);
}

/** `data` flat or nested (KServe allows both), as a flat list. */
function flatten(name: string, data: unknown): unknown[] {
  if (!Array.isArray(data)) throw badRequest(`input "${name}" needs "data": a list of values (flat, or nested as the shape)`);
  return data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : data;
}

function toTensor(name: string, dtype: TensorDtype, values: readonly unknown[], dims: number[]): ort.Tensor {
  if (dtype === 'bool') {
    const bad = values.findIndex((v) => typeof v !== 'boolean');
    if (bad !== -1) throw badRequest(`input "${name}" is bool, but data[${bad}] is ${JSON.stringify(values[bad])}`);
    return new ort.Tensor('bool', Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0)), dims);
  }
  const integer = dtype !== 'float32' && dtype !== 'float64';
  const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)));
  if (bad !== -1) {
    throw badRequest(`input "${name}" is ${dtype}, so every value must be a finite ${integer ? 'whole ' : ''}number, but data[${bad}] is ${JSON.stringify(values[bad])}`);
  }
  const numbers = values as number[];
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from(numbers), dims);
    case 'float64': return new ort.Tensor('float64', Float64Array.from(numbers), dims);
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from(numbers, (v) => BigInt(v)), dims);
    case 'int32': return new ort.Tensor('int32', checkedRange(name, dtype, numbers, -(2 ** 31), 2 ** 31 - 1, Int32Array), dims);
    case 'int16': return new ort.Tensor('int16', checkedRange(name, dtype, numbers, -(2 ** 15), 2 ** 15 - 1, Int16Array), dims);
    case 'int8': return new ort.Tensor('int8', checkedRange(name, dtype, numbers, -128, 127, Int8Array), dims);
    case 'uint16': return new ort.Tensor('uint16', checkedRange(name, dtype, numbers, 0, 2 ** 16 - 1, Uint16Array), dims);
    case 'uint8': return new ort.Tensor('uint8', checkedRange(name, dtype, numbers, 0, 255, Uint8Array), dims);
  }
}

function checkedRange<T>(name: string, dtype: string, values: number[], min: number, max: number, Typed: { from(values: number[]): T }): T {
  const bad = values.findIndex((v) => v < min || v > max);
  if (bad !== -1) throw badRequest(`input "${name}" is ${dtype} (${min} to ${max}), but data[${bad}] is ${values[bad]}`);
  return Typed.from(values);
}

/** The outputs as the request's schema answers them. */
export function encodeTensorResponse(schema: PayloadSchema, modelName: string, outputs: Readonly<Record<string, ort.Tensor>>): string {
  const entries = Object.entries(outputs).map(([name, tensor]) => {
    const dtype = tensor.type as TensorDtype;
    const data = dtype === 'int64' ? Array.from(tensor.data as BigInt64Array, Number) : dtype === 'bool' ? Array.from(tensor.data as Uint8Array, (v) => v !== 0) : Array.from(tensor.data as ArrayLike<number>);
    return { name, dims: [...tensor.dims], dtype, data };
  });
  if (schema === 'kserve-v2') {
    return JSON.stringify({ model_name: modelName, outputs: entries.map((e) => ({ name: e.name, shape: e.dims, datatype: DTYPES[e.dtype] ?? e.dtype.toUpperCase(), data: e.data })) });
  }
  return JSON.stringify({ outputs: Object.fromEntries(entries.map((e) => [e.name, { shape: e.dims, dtype: e.dtype, data: e.data }])) });
}

function describe(d: DeclaredTensor): string {
  return `"${d.name}" ${d.dtype} (${d.shape.map((s) => (typeof s === 'number' && s >= 0 ? s : typeof s === 'string' && s !== '' ? s : '?')).join(', ')})`;
}

function describeAll(ds: readonly DeclaredTensor[]): string {
  return ds.map(describe).join(', ');
}
