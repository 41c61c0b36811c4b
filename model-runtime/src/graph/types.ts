/**
 * The vocabulary of the graph builder: element types, shapes with symbolic dimensions, values
 * (named edges of the graph) and the nodes recorded on the tape that autodiff walks backwards.
 */

/** Element types this runtime builds graphs in. Float64 exists for gradient checks. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool';

/** A dimension: a fixed size, or a symbol such as 'B' (the batch) that ONNX Runtime resolves per run. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** One named tensor in the graph, with the element type and shape the builder inferred for it. */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/** ONNX attributes, tagged by kind because JavaScript numbers do not tell an int from a float. */
export type Attribute =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly string: string }
  | { readonly tensor: ConstantData }
  /** A graph-valued attribute: an If node's then_branch / else_branch (builder.ts's ifElse). */
  | { readonly graph: Subgraph };

/**
 * A nested graph, as a GraphBuilder made by `subgraph()` presents it to the serialiser: no inputs
 * (an If branch takes none), its own nodes and initializers, and the values it outputs. Values of
 * the enclosing graph are referenced by name, as ONNX allows. Declared here, not imported from
 * builder.ts, so that the vocabulary does not depend on the builder.
 */
export interface Subgraph {
  readonly name: string;
  readonly nodes: readonly NodeRecord[];
  readonly declaredOutputs: readonly Value[];
  readonly declaredInitializers: readonly { readonly value: Value; readonly data: ConstantData | null }[];
}

/** The data of a constant (an initializer or a Constant/ConstantOfShape value). */
export interface ConstantData {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly values: ArrayLike<number> | ArrayLike<boolean>;
}

/** One op application, as recorded on the builder's tape. */
export interface NodeRecord {
  readonly op: string;
  /** Inputs in ONNX order; null marks an omitted optional input. */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attributes: Readonly<Record<string, Attribute>>;
  /**
   * The gradient rule (a key of gradients.ts's GRADIENT_RULES) to differentiate this node by
   * instead of its op's: for a node whose inputs mean more than the op knows, as a
   * BatchNormalization fed its own input's batch statistics. @default the op's rule
   */
  readonly gradient?: string;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}
