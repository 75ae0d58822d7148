/**
 * Float16 compute for accelerators, as a pass over a built float32 graph: the matrix products (Gemm, MatMul, Conv,
 * the fused attention operators) run in float16, everything else (norms, softmax outside attention, RoPE, modulation,
 * residual sums) stays float32, like torch's autocast. That is where an accelerator's speed and memory go, and it keeps
 * the steps that overflow float16 (RMS norms square activations in the thousands) in float32. Weights feed the
 * products straight from their stored bytes (bf16/f16/f32 initializers cast to float16, fp8 dequantized), so no
 * float32 copy of a weight exists on the float16 path either. Graph inputs and outputs stay float32 (the contracts).
 */

import onnxProto from 'onnx-proto';

type INodeProto = onnxProto.onnx.INodeProto;

const FLOAT = 1;
const FLOAT16 = 10;

/** Float inputs of each product operator (others are ints or absent): their indices. */
const PRODUCT_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  Conv: [0, 1, 2],
  ConvTranspose: [0, 1, 2],
  // com.microsoft: query, key, value, bias, (key_padding_mask is int32), attention_bias, past_key, past_value.
  MultiHeadAttention: [0, 1, 2, 3, 5, 6, 7],
};

export interface MixedPrecisionResult {
  readonly bytes: Uint8Array;
  /** True when some Cast now reads an initializer directly: sessions must keep ConstantFolding off (see BuildResult). */
  readonly castsWeights: boolean;
}

/**
 * Rewrites a serialised float32 model so its products compute in float16.
 *
 * @example
 * const { bytes, castsWeights } = toFloat16Products(g.build().bytes);
 */
export function toFloat16Products(modelBytes: Uint8Array): MixedPrecisionResult {
  const model = onnxProto.onnx.ModelProto.decode(modelBytes);
  const graph = model.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name!));
  const producer = new Map<string, INodeProto>();
  for (const node of graph.node ?? []) for (const out of node.output ?? []) producer.set(out, node);

  const nodes: INodeProto[] = [];
  const halfOf = new Map<string, string>(); // float32 value -> its float16 cast
  let castsWeights = false;
  const half = (name: string, before: INodeProto[]): string => {
    const known = halfOf.get(name);
    if (known) return known;
    // A weight's float32 Cast is skipped: cast the stored initializer to float16 directly.
    const source = producer.get(name);
    const stored = source?.opType === 'Cast' && initializers.has(source.input![0]!) && castTo(source) === FLOAT ? source.input![0]! : name;
    const cast = `${stored}.f16`;
    if (!halfOf.has(stored)) {
      before.push(castNode(stored, cast, FLOAT16));
      if (initializers.has(stored)) castsWeights = true;
      halfOf.set(stored, cast);
    }
    halfOf.set(name, cast);
    return cast;
  };

  for (const node of graph.node ?? []) {
    const floatInputs = node.domain === 'com.microsoft' || !node.domain ? PRODUCT_INPUTS[node.opType!] : undefined;
    if (!floatInputs) {
      nodes.push(node);
      continue;
    }
    const before: INodeProto[] = [];
    const inputs = (node.input ?? []).map((name, i) => (name !== '' && floatInputs.includes(i) ? half(name, before) : name));
    const outputs = (node.output ?? []).map((name) => (name === '' ? name : `${name}.f16_out`));
    nodes.push(...before, { ...node, input: inputs, output: outputs });
    (node.output ?? []).forEach((name, i) => {
      if (name !== '') nodes.push(castNode(outputs[i]!, name, FLOAT));
    });
  }
  graph.node = withoutDeadNodes(nodes, new Set((graph.output ?? []).map((o) => o.name!)));
  return { bytes: onnxProto.onnx.ModelProto.encode(model).finish(), castsWeights };
}

function castTo(node: INodeProto): number | undefined {
  const to = node.attribute?.find((a) => a.name === 'to')?.i;
  return to === undefined || to === null ? undefined : Number(to);
}

function castNode(input: string, output: string, to: number): INodeProto {
  return {
    opType: 'Cast',
    name: `${output}.cast${to === FLOAT ? '_f32' : '_f16'}`,
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnxProto.onnx.AttributeProto.AttributeType.INT, i: to }],
  };
}

/** Drops nodes none of whose outputs is read (the weights' float32 Casts the products no longer use). */
function withoutDeadNodes(nodes: INodeProto[], graphOutputs: ReadonlySet<string>): INodeProto[] {
  let list = nodes;
  for (;;) {
    const read = new Set(list.flatMap((n) => n.input ?? []));
    const kept = list.filter((n) => (n.output ?? []).some((o) => o !== '' && (read.has(o) || graphOutputs.has(o))));
    if (kept.length === list.length) return kept;
    list = kept;
  }
}
