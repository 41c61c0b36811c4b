/**
 * Serialises a GraphBuilder into ONNX protobuf bytes with onnx-proto. Float tensors travel as
 * little-endian raw bytes (compact and fast for large weights); int64 and bool as typed fields.
 * Graph-valued attributes (an If's branches, builder.ts's ifElse) become nested GraphProtos.
 */
// onnx-proto is CommonJS without named-export hints: Node's ESM loader (tsx) only sees a default export.
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';
import { OPSET, onnxTypeOf } from './builder.ts';
import type { GraphBuilder } from './builder.ts';
import type { Attribute, ConstantData, Subgraph, Value } from './types.ts';

const { onnx } = onnxProto;

/** IR version 8 (ONNX 1.13) pairs with opset 18. */
const IR_VERSION = 8;

export function toModelBytes(graph: GraphBuilder, producer = 'modelstack'): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: producer,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: onnx.GraphProto.create({ ...graphProto(graph, ''), input: graph.declaredInputs.map(valueInfo) }),
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Nodes, outputs and initializers of a graph; the main graph adds its inputs. A subgraph's node
 * names are prefixed with its own name, so that they stay unique across the model.
 */
function graphProto(graph: Subgraph, nodePrefix: string): proto.IGraphProto {
  return {
    name: graph.name,
    node: graph.nodes.map((node, i) =>
      onnx.NodeProto.create({
        name: `${nodePrefix}${node.op}_${i}`,
        opType: node.op,
        input: node.inputs.map((v) => (v === null ? '' : v.name)),
        output: node.outputs.map((v) => v.name),
        attribute: Object.entries(node.attributes).map(([name, a]) => attributeProto(name, a)),
      }),
    ),
    output: graph.declaredOutputs.map(valueInfo),
    initializer: graph.declaredInitializers.map((d) => tensorProto(d.value.name, d.data as ConstantData)),
  };
}

function valueInfo(v: Value): proto.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: onnxTypeOf(v.dtype),
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function tensorProto(name: string, data: ConstantData): proto.ITensorProto {
  const base = { name, dims: [...data.dims], dataType: onnxTypeOf(data.dtype) };
  const values = data.values;
  switch (data.dtype) {
    case 'float32': {
      const typed = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
      return { ...base, rawData: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
    }
    case 'float64': {
      const typed = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
      return { ...base, rawData: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
    }
    case 'int64':
      return { ...base, int64Data: Array.from(values as ArrayLike<number>) };
    case 'bool':
      return { ...base, int32Data: Array.from(values as ArrayLike<number | boolean>, (v) => (v ? 1 : 0)) };
  }
}

function attributeProto(name: string, a: Attribute): proto.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('string' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
  if ('graph' in a) return { name, type: T.GRAPH, g: graphProto(a.graph, `${a.graph.name}/`) };
  return { name, type: T.TENSOR, t: tensorProto('value', a.tensor) };
}
