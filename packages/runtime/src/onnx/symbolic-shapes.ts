/**
 * Symbolic shapes for a built graph, written as value_info so onnxruntime's allocation planner can reuse buffers.
 *
 * Why: onnxruntime's sequential planner (PlannerImpl::FindReusableTensor) looks for a freed buffer of the same shape
 * for every new output by walking its whole free list. Its own shape inference leaves a dim unknown wherever a size
 * is computed (Concat along the token axis, a Reshape to a shape built from Shape nodes, a Split by run-time sizes),
 * and a buffer with an unknown dim matches nothing, so it stays on the list for good. On the FLUX DiT (~7,000 nodes)
 * that list grows with the graph and the walk makes session creation quadratic in depth (12-13 s of CPU time).
 * Naming every such dim by the expression that produces it (`S+L`, `B*(N+R)`) lets the same-shaped buffers of
 * consecutive blocks match, keeps the list short, and onnxruntime still infers everything it already could.
 *
 * Only dims this pass can derive exactly are written; anything else (an op it does not know, a size it cannot
 * express) is left to onnxruntime as before. Equal expressions always mean equal sizes, since every symbol is an
 * expression of the graph inputs' named dims.
 */

import onnxProto from 'onnx-proto';

type IModelProto = onnxProto.onnx.IModelProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;

/** A dim: a size, or the expression (of the graph inputs' dim names) that gives it. */
export type SymbolicDim = number | string;

interface Known {
  readonly type: number;
  readonly dims: readonly SymbolicDim[];
}

const INT64 = 7;
const FLOAT = 1;

/** Shape-preserving ops: output 0 has input 0's dims (and dtype, except Cast). */
const SAME_SHAPE = new Set([
  'Identity', 'Cast', 'Sigmoid', 'Tanh', 'Relu', 'Sqrt', 'Exp', 'Log', 'Sin', 'Cos', 'Neg', 'Erf', 'Gelu', 'FastGelu', 'Abs',
  'Reciprocal', 'Softmax', 'LayerNormalization', 'SimplifiedLayerNormalization', 'DequantizeLinear', 'Round', 'Floor', 'Ceil',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

/** `a+b` terms of a sum expression (top level only). */
function terms(d: SymbolicDim): SymbolicDim[] {
  if (typeof d === 'number') return [d];
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < d.length; i++) {
    const ch = d[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '+' && depth === 0) {
      out.push(d.slice(start, i));
      start = i + 1;
    }
  }
  out.push(d.slice(start));
  return out;
}

function sum(dims: readonly SymbolicDim[]): SymbolicDim {
  let numeric = 0;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') numeric += d;
    else symbols.push(...(terms(d) as string[]));
  }
  if (symbols.length === 0) return numeric;
  return [...symbols, ...(numeric !== 0 ? [String(numeric)] : [])].join('+');
}

/** end - start when end's terms begin with start's (a Slice from a computed offset), else undefined. */
function difference(end: SymbolicDim, start: SymbolicDim): SymbolicDim | undefined {
  if (typeof end === 'number' && typeof start === 'number') return end - start;
  if (start === 0) return end;
  const e = terms(end);
  const s = terms(start);
  if (s.length >= e.length || s.some((t, i) => t !== e[i])) return undefined;
  return sum(e.slice(s.length));
}

function factor(d: string): string {
  return terms(d).length > 1 ? `(${d})` : d;
}

function product(dims: readonly SymbolicDim[]): SymbolicDim {
  let numeric = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') numeric *= d;
    else symbols.push(factor(d));
  }
  if (symbols.length === 0) return numeric;
  return [...(numeric !== 1 ? [String(numeric)] : []), ...symbols].join('*');
}

/** Multidirectional broadcast; undefined where two different sizes meet that are not 1 (or cannot be told apart). */
function broadcast(shapes: ReadonlyArray<readonly SymbolicDim[]>): SymbolicDim[] | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: SymbolicDim[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => s[s.length - rank + i]).filter((d): d is SymbolicDim => d !== undefined && d !== 1);
    if (dims.length === 0) out.push(1);
    else if (dims.every((d) => d === dims[0])) out.push(dims[0]!);
    else return undefined;
  }
  return out;
}

function attribute(node: INodeProto, name: string) {
  return node.attribute?.find((a) => a.name === name);
}
function intAttr(node: INodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
}
function intsAttr(node: INodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}

function int64Values(t: ITensorProto): number[] | undefined {
  if (t.dataType !== INT64 || (t.dims ?? []).length > 1) return undefined;
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  }
  return t.int64Data && t.int64Data.length > 0 ? t.int64Data.map(Number) : undefined;
}

/**
 * Adds value_info with symbolic dims to a model's graph (see the file comment). Returns the number of values annotated.
 * Mutates `model`.
 */
export function annotateSymbolicShapes(model: IModelProto): number {
  const graph = model.graph!;
  const known = new Map<string, Known>();
  // Small int64 tensors whose contents are known (constants, Shape outputs, concatenations of them): Reshape targets.
  const values = new Map<string, SymbolicDim[]>();
  for (const t of graph.initializer ?? []) {
    known.set(t.name!, { type: t.dataType!, dims: (t.dims ?? []).map(Number) });
    const v = int64Values(t);
    if (v) values.set(t.name!, v);
  }
  for (const input of graph.input ?? []) {
    const tensor = input.type?.tensorType;
    const dims = tensor?.shape?.dim?.map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || undefined));
    if (tensor?.elemType && dims && dims.every((d) => d !== undefined)) known.set(input.name!, { type: tensor.elemType, dims: dims as SymbolicDim[] });
  }
  const declared = new Set([...(graph.input ?? []), ...(graph.output ?? [])].map((v) => v.name!));
  const annotated: onnxProto.onnx.IValueInfoProto[] = [];

  for (const node of graph.node ?? []) {
    const inputs = (node.input ?? []).map((n) => (n === '' ? undefined : known.get(n)));
    const inputValues = (node.input ?? []).map((n) => values.get(n));
    const results = inferNode(node, inputs, inputValues);
    (node.output ?? []).forEach((name, i) => {
      const r = results?.[i];
      if (!name || !r) return;
      known.set(name, { type: r.type, dims: r.dims });
      if (r.values) values.set(name, r.values);
      if (!declared.has(name)) annotated.push(valueInfo(name, r));
    });
  }
  const names = new Set(annotated.map((v) => v.name!));
  graph.valueInfo = [...(graph.valueInfo ?? []).filter((v) => !names.has(v.name!)), ...annotated];
  return annotated.length;
}

/** annotateSymbolicShapes over serialised model bytes. */
export function withSymbolicShapes(modelBytes: Uint8Array): Uint8Array {
  const model = onnxProto.onnx.ModelProto.decode(modelBytes);
  annotateSymbolicShapes(model);
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

function valueInfo(name: string, k: Known): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: k.type, shape: { dim: k.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

interface Inferred extends Known {
  readonly values?: SymbolicDim[];
}

function inferNode(node: INodeProto, inputs: Array<Known | undefined>, vals: Array<SymbolicDim[] | undefined>): Array<Inferred | undefined> | undefined {
  const op = node.opType!;
  const x = inputs[0];
  if (SAME_SHAPE.has(op)) {
    if (!x) return undefined;
    if (op === 'Cast') {
      const to = intAttr(node, 'to', x.type);
      return [{ type: to, dims: x.dims, ...(vals[0] && to === INT64 ? { values: vals[0] } : {}) }];
    }
    if (op === 'DequantizeLinear') return inputs[1] ? [{ type: inputs[1].type, dims: x.dims }] : undefined;
    return [{ type: x.type, dims: x.dims }];
  }
  if (BROADCAST.has(op)) {
    if (inputs.some((i) => !i)) return undefined;
    const dims = broadcast(inputs.map((i) => i!.dims));
    if (!dims) return undefined;
    const a = vals[0];
    const b = vals[1];
    const values = op === 'Add' && a && b && a.length === b.length ? a.map((v, i) => sum([v, b[i]!])) : undefined;
    return [{ type: x!.type, dims, ...(values ? { values } : {}) }];
  }
  switch (op) {
    case 'Gemm': {
      const b = inputs[1];
      if (!x || !b || x.dims.length !== 2 || b.dims.length !== 2) return undefined;
      const m = intAttr(node, 'transA', 0) ? x.dims[1]! : x.dims[0]!;
      const n = intAttr(node, 'transB', 0) ? b.dims[0]! : b.dims[1]!;
      return [{ type: x.type, dims: [m, n] }];
    }
    case 'MatMul': {
      const b = inputs[1];
      if (!x || !b || x.dims.length < 2 || b.dims.length !== 2) return undefined;
      return [{ type: x.type, dims: [...x.dims.slice(0, -1), b.dims[1]!] }];
    }
    case 'Shape': {
      if (!x) return undefined;
      const rank = x.dims.length;
      const clamp = (i: number) => Math.min(rank, Math.max(0, i < 0 ? i + rank : i));
      const slice = x.dims.slice(clamp(intAttr(node, 'start', 0)), clamp(intAttr(node, 'end', rank)));
      return [{ type: INT64, dims: [slice.length], values: slice }];
    }
    case 'Reshape': {
      const target = vals[1];
      if (!x || !target) return undefined;
      const dims = reshape(x.dims, target, intAttr(node, 'allowzero', 0) === 1);
      return dims ? [{ type: x.type, dims }] : undefined;
    }
    case 'Concat': {
      if (inputs.some((i) => !i)) return undefined;
      const rank = x!.dims.length;
      const axis = (intAttr(node, 'axis', 0) + rank) % rank;
      const dims = x!.dims.map((d, i) => (i === axis ? sum(inputs.map((k) => k!.dims[axis]!)) : d));
      const values = axis === 0 && vals.every((v) => v) ? vals.flatMap((v) => v!) : undefined;
      return [{ type: x!.type, dims, ...(values ? { values } : {}) }];
    }
    case 'Split': {
      if (!x) return undefined;
      const rank = x.dims.length;
      const axis = (intAttr(node, 'axis', 0) + rank) % rank;
      const count = (node.output ?? []).length;
      let sizes: SymbolicDim[] | undefined = vals[1] ?? intsAttr(node, 'split');
      const whole = x.dims[axis]!;
      if (!sizes && typeof whole === 'number' && whole % count === 0) sizes = Array<number>(count).fill(whole / count);
      if (!sizes || sizes.length !== count) return undefined;
      return sizes.map((s) => ({ type: x.type, dims: x.dims.map((d, i) => (i === axis ? s : d)) }));
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const axes = vals[1] ?? intsAttr(node, 'axes');
      if (!x || !axes || axes.some((a) => typeof a !== 'number')) return undefined;
      if (op === 'Squeeze') {
        const rank = x.dims.length;
        const drop = new Set((axes as number[]).map((a) => (a + rank) % rank));
        return [{ type: x.type, dims: x.dims.filter((_, i) => !drop.has(i)) }];
      }
      const rank = x.dims.length + axes.length;
      const add = new Set((axes as number[]).map((a) => (a + rank) % rank));
      const dims: SymbolicDim[] = [];
      let from = 0;
      for (let i = 0; i < rank; i++) dims.push(add.has(i) ? 1 : x.dims[from++]!);
      return [{ type: x.type, dims }];
    }
    case 'Slice': {
      const [starts, ends, axes, steps] = [vals[1], vals[2], vals[3], vals[4]];
      if (!x || !starts || !ends || (node.input ?? []).length > 3 && !axes) return undefined;
      if (steps && steps.some((s) => s !== 1)) return undefined;
      const rank = x.dims.length;
      const dims = [...x.dims];
      for (let j = 0; j < starts.length; j++) {
        const axis = axes ? axes[j] : j;
        if (typeof axis !== 'number') return undefined;
        const a = (axis + rank) % rank;
        const size = sliceSize(x.dims[a]!, starts[j]!, ends[j]!);
        if (size === undefined) return undefined;
        dims[a] = size;
      }
      return [{ type: x.type, dims }];
    }
    case 'Gather': {
      // Data [..., n, ...] at `axis`, indices of any shape (a LoRA strength is a scalar picked from [K]).
      const indices = inputs[1];
      if (!x || !indices) return undefined;
      const rank = x.dims.length;
      const axis = (intAttr(node, 'axis', 0) + rank) % rank;
      const dims = [...x.dims.slice(0, axis), ...indices.dims, ...x.dims.slice(axis + 1)];
      const data = vals[0];
      const picked = vals[1];
      const values = data && picked && rank === 1 && picked.every((i) => typeof i === 'number' && i >= 0 && i < data.length)
        ? (picked as number[]).map((i) => data[i]!)
        : undefined;
      return [{ type: x.type, dims, ...(values ? { values } : {}) }];
    }
    case 'ConstantOfShape': {
      const shape = vals[0];
      if (!shape) return undefined;
      const type = attribute(node, 'value')?.t?.dataType ?? FLOAT;
      return [{ type, dims: shape }];
    }
    case 'Expand': {
      const shape = vals[1];
      if (!x || !shape) return undefined;
      const dims = broadcast([x.dims, shape]);
      return dims ? [{ type: x.type, dims }] : undefined;
    }
    case 'ReduceMean':
    case 'ReduceSum': {
      const axes = vals[1] ?? intsAttr(node, 'axes');
      if (!x || !axes || axes.some((a) => typeof a !== 'number')) return undefined;
      const rank = x.dims.length;
      const reduced = new Set((axes as number[]).map((a) => (a + rank) % rank));
      const keep = intAttr(node, 'keepdims', 1) === 1;
      const dims = x.dims.flatMap((d, i) => (reduced.has(i) ? (keep ? [1] : []) : [d]));
      return [{ type: x.type, dims }];
    }
    case 'Pad': {
      const pads = vals[1];
      if (!x || !pads || pads.length !== 2 * x.dims.length || pads.some((p) => typeof p !== 'number')) return undefined;
      const rank = x.dims.length;
      const dims = x.dims.map((d, i) => sum([d, pads[i] as number, pads[i + rank] as number]));
      return [{ type: x.type, dims }];
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = intsAttr(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
      return [{ type: x.type, dims: perm.map((p) => x.dims[p]!) }];
    }
    case 'MultiHeadAttention': {
      // com.microsoft: query [B, Sq, Hq], key [B, Skv, Hk], value [B, Skv, Hv] -> output [B, Sq, Hv].
      const v = inputs[2];
      if (node.domain !== 'com.microsoft' || !x || !v || x.dims.length !== 3 || v.dims.length !== 3) return undefined;
      return [{ type: x.type, dims: [x.dims[0]!, x.dims[1]!, v.dims[2]!] }];
    }
    default:
      return undefined;
  }
}

/** A Reshape's output dims from its input dims and target (0 copies a dim unless allowzero, -1 takes the rest). */
function reshape(input: readonly SymbolicDim[], target: readonly SymbolicDim[], allowZero: boolean): SymbolicDim[] | undefined {
  const out = target.map((t, i) => (t === 0 && !allowZero ? input[i] : t));
  if (out.some((d) => d === undefined)) return undefined;
  const rest = out.indexOf(-1);
  if (rest < 0) return out as SymbolicDim[];
  // -1 is what the input has left once the other target dims are taken out of it.
  let numeric = 1;
  const symbols: SymbolicDim[] = [];
  for (const d of input) typeof d === 'number' ? (numeric *= d) : symbols.push(d);
  for (const [i, d] of out.entries()) {
    if (i === rest) continue;
    if (typeof d === 'number') {
      if (numeric % d !== 0) return undefined;
      numeric /= d;
    } else {
      const at = symbols.indexOf(d!);
      if (at < 0) return undefined;
      symbols.splice(at, 1);
    }
  }
  out[rest] = product([numeric, ...symbols]);
  return out as SymbolicDim[];
}

/** Size of a unit-step Slice of a dim, or undefined when it cannot be expressed. */
function sliceSize(dim: SymbolicDim, start: SymbolicDim, end: SymbolicDim): SymbolicDim | undefined {
  const BIG = 2 ** 52;
  if (typeof start === 'number' && typeof end === 'number') {
    if (typeof dim === 'number') {
      const clamp = (v: number) => Math.min(dim, Math.max(0, v < 0 ? v + dim : v));
      return Math.max(0, clamp(end) - clamp(start));
    }
    if (start === 0 && end >= BIG) return dim;
    // A numeric window of a symbolic dim is only exact when it cannot reach past the end: not knowable here.
    return undefined;
  }
  // Computed offsets into a symbolic dim (the target tokens of the joint stream): end must be start + something.
  if (typeof end === 'number') return undefined;
  return difference(end, start);
}
