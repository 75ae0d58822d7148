/**
 * A typed ONNX graph builder over onnx-proto (IR 10, opset 21). Nodes get stable names chosen by the caller (block
 * builders use checkpoint module paths such as `double_blocks.0.img_attn.qkv`), so two builds of the same config give
 * byte-identical graphs that can be dumped and compared.
 *
 * Weights are initializers that point into safetensors files as ONNX external data. ORT only accepts external data
 * inside one folder (no absolute paths, no `..`, symlinks resolved), so `build()` computes the deepest folder that
 * holds every referenced file and writes locations relative to it. When the .onnx file does not live in that folder,
 * load it with the session option `session.model_external_initializers_file_folder_path` set to `externalDataDir`
 * (SessionPool does this when given a `ModelRef` with `externalDataDir`).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import onnxProto from 'onnx-proto';
import { ONNX_DTYPE_CODES, SAFETENSORS_TO_ONNX, type OnnxDType } from './dtypes.ts';
import type { WeightPart, WeightPatch, WeightSource } from './weights.ts';
import { float32ToFloat16Bits } from '../tensor/float16.ts';

const { onnx } = onnxProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IModelProto = onnxProto.onnx.IModelProto;

export const IR_VERSION = 10;
export const OPSET_VERSION = 21;
/** onnxruntime's contrib operator domain (MultiHeadAttention...), imported at version 1 when a node uses it. */
export const MICROSOFT_DOMAIN = 'com.microsoft';
/** Graph input holding one strength per LoRA file, for graphs built with run-time LoRA branches. */
export const LORA_STRENGTHS_INPUT = 'lora_strengths';

/** A tensor in the graph, by name. Op helpers return these; pass them on to later ops. */
export interface Value {
  readonly name: string;
}

/** A dimension: a fixed size or a symbolic name such as 'B' or 'N'. */
export type Dim = number | string;

/** Node attributes, typed explicitly because ONNX distinguishes 1 (int) from 1.0 (float). */
export type Attr =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'tensor'; readonly value: ITensorProto };

export const attr = {
  float: (value: number): Attr => ({ type: 'float', value }),
  int: (value: number): Attr => ({ type: 'int', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
};

/** An optional input left out (ONNX spells it as an empty name). */
export const NONE: Value = Object.freeze({ name: '' });

export interface OpOptions {
  /** Node name; also the name of its (first) output. Auto-generated as `<OpType>_<n>` when omitted. */
  readonly name?: string;
  readonly attrs?: Readonly<Record<string, Attr>>;
  /** Number of outputs (default 1). Outputs after the first are named `<name>:<i>`. */
  readonly outputs?: number;
  readonly domain?: string;
}

export interface BuildResult {
  /** Serialised ModelProto. */
  readonly bytes: Uint8Array;
  /**
   * Folder the external data locations are relative to (absolute, real path), or null when every weight is inline.
   * Load the model with this folder as the external-data folder unless the .onnx file itself sits in it.
   */
  readonly externalDataDir: string | null;
  /** Sum of the byte lengths of all initializers, external ones included: a rough memory estimate. */
  readonly weightBytes: number;
  /**
   * True when some weight reaches float32 (or float16) through a Cast of its initializer (bf16/f16 stored, float32
   * compute). Such a graph must run without onnxruntime's ConstantFolding, which would otherwise turn every one of
   * those Casts into a float32 copy of the weight at session creation (a 12 B model: 48 GB). The session pool honours
   * it through the ModelRef's `disableConstantFolding`.
   */
  readonly castsWeights: boolean;
}

/**
 * The dtype a graph computes in. float32 on the CPU (onnxruntime's CPU kernels compute in float32 anyway); float16
 * where an accelerator supports it. Graph inputs and outputs stay float32 whatever it is (the role contracts).
 */
export type ComputeDtype = 'float32' | 'float16';

export interface GraphBuilderOptions {
  readonly name?: string;
  /** Where `weight()` finds checkpoint tensors. */
  readonly weights?: WeightSource;
  /** Recorded in the model's metadata_props (e.g. architecture id and version), for debugging cached graphs. */
  readonly metadata?: Readonly<Record<string, string>>;
}

interface ExternalRef {
  readonly tensor: ITensorProto;
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * Builds one ONNX graph.
 *
 * @example
 * const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
 * const x = g.input('x', 'float32', ['B', 4]);                  // [B, 4]
 * const w = g.weight('proj.weight');                            // [8, 4], cast to float32 inside the graph
 * const y = g.gemm(x, w, { transB: true, name: 'proj' });       // [B, 8]
 * g.output(y, 'y', 'float32', ['B', 8]);
 * const { bytes, externalDataDir } = g.build();
 */
export class GraphBuilder {
  readonly name: string;
  readonly weights: WeightSource | undefined;
  private castsWeights = false;
  private readonly metadata: Readonly<Record<string, string>>;
  private readonly nodes: INodeProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly externals: ExternalRef[] = [];
  private readonly names = new Set<string>();
  private readonly weightValues = new Map<string, Value>();
  private readonly constantCache = new Map<string, Value>();
  private readonly autoCounters = new Map<string, number>();
  private inlineBytes = 0;

  constructor(options: GraphBuilderOptions = {}) {
    this.name = options.name ?? 'graph';
    this.weights = options.weights;
    this.metadata = options.metadata ?? {};
  }

  // ---------------------------------------------------------------- names, inputs, outputs

  private claim(name: string): string {
    if (name === '') throw new Error('GraphBuilder: empty tensor name');
    if (this.names.has(name)) throw new Error(`GraphBuilder: tensor name '${name}' is already used in graph '${this.name}'`);
    this.names.add(name);
    return name;
  }

  private autoName(base: string): string {
    let n = this.autoCounters.get(base) ?? 0;
    let name: string;
    do {
      name = `${base}_${n++}`;
    } while (this.names.has(name));
    this.autoCounters.set(base, n);
    return name;
  }

  /** True when a tensor of that name exists (inputs, initializers, node outputs). */
  hasName(name: string): boolean {
    return this.names.has(name);
  }

  /** Declares a graph input. */
  input(name: string, dtype: OnnxDType, dims: readonly Dim[]): Value {
    this.claim(name);
    this.inputs.push(valueInfo(name, dtype, dims));
    return { name };
  }

  /**
   * Declares a graph output. When the value's name differs from `name`, an Identity node gives it that name, so
   * block builders need not know the graph's public names.
   */
  output(value: Value, name: string, dtype: OnnxDType, dims?: readonly Dim[]): void {
    const out = value.name === name ? value : this.op('Identity', [value], { name });
    this.outputs.push(valueInfo(out.name, dtype, dims));
  }

  // ---------------------------------------------------------------- initializers

  /** An inline initializer from raw little-endian bytes. */
  initializer(name: string, dtype: OnnxDType, dims: readonly number[], bytes: Uint8Array): Value {
    this.claim(name);
    this.initializers.push({ name, dataType: ONNX_DTYPE_CODES[dtype], dims: [...dims], rawData: bytes });
    this.inlineBytes += bytes.byteLength;
    return { name };
  }

  /**
   * An initializer whose bytes stay in a file: `file` is an absolute real path, `offset`/`length` a byte range in it
   * (for safetensors: `SafetensorsTensorInfo.offset/length`).
   */
  externalInitializer(
    name: string,
    dtype: OnnxDType,
    dims: readonly number[],
    file: string,
    offset: number,
    length: number,
  ): Value {
    this.claim(name);
    const tensor: ITensorProto = {
      name,
      dataType: ONNX_DTYPE_CODES[dtype],
      dims: [...dims],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    };
    this.initializers.push(tensor);
    this.externals.push({ tensor, file, offset, length });
    return { name };
  }

  /**
   * A checkpoint weight by key, as float32 (or `as`: float16, or the stored dtype). The initializer keeps the key as its name
   * and its stored dtype: bf16/f16/f8 bytes stay mapped in the file, never converted or copied by JavaScript.
   * - stored dtype = target: the initializer itself;
   * - F8_E4M3: a DequantizeLinear named `<key>.dequant`, whose scale is the checkpoint's `<module>.scale_weight` when
   *   the file is a scaled-fp8 one (ComfyUI's `*_scaled` files) and 1 otherwise. onnxruntime never constant-folds
   *   DequantizeLinear, so fp8 weights stay one byte each until a run needs them;
   * - anything else: a Cast named `<key>.cast` (`<key>.cast_f16` for float16). The build result then says
   *   `castsWeights`, so the session is created without ConstantFolding and the Cast runs per inference instead of
   *   becoming a float32 copy of the model.
   * `as: 'stored'` returns the initializer unconverted.
   */
  weight(key: string, options: { readonly as?: ComputeDtype | 'stored'; readonly lowRankBranch?: boolean } = {}): Value {
    const as = options.as ?? 'float32';
    const cacheKey = `${key}\u0000${as}`;
    const cached = this.weightValues.get(cacheKey);
    if (cached) return cached;
    if (!this.weights) throw new Error(`GraphBuilder '${this.name}': weight('${key}') needs a weight source`);
    const info = this.weights.info(key);
    if (!info) throw new Error(`${this.weights.description}: missing weight '${key}'`);
    const dtype = SAFETENSORS_TO_ONNX[info.dtype];
    const stored = this.storedWeight(key, dtype, info.shape);
    let value = stored;
    if (as !== 'stored' && !options.lowRankBranch && (this.weights.patches?.(key) ?? []).length > 0) {
      // LoRAs run as a branch beside the layer (blocks.ts linear); a weight read any other way would drop them.
      throw new Error(`${this.weights.description}: weight '${key}' has a LoRA patch but is not read through linear()`);
    }
    if (as !== 'stored') value = this.convertWeight(key, stored, dtype, as);
    this.weightValues.set(cacheKey, value);
    return value;
  }

  private storedWeight(key: string, dtype: OnnxDType, shape: readonly number[]): Value {
    const cacheKey = `${key}\u0000stored`;
    let stored = this.weightValues.get(cacheKey);
    if (!stored) {
      const data = this.weights!.data(key);
      stored =
        data.kind === 'external'
          ? this.externalInitializer(key, dtype, shape, data.file, data.offset, data.length)
          : this.initializer(key, dtype, shape, data.bytes);
      this.weightValues.set(cacheKey, stored);
    }
    return stored;
  }

  private convertWeight(key: string, stored: Value, dtype: OnnxDType, to: ComputeDtype, scaleKey = key): Value {
    if (dtype === to) return stored;
    const suffix = to === 'float32' ? '' : '_f16';
    if (dtype === 'float8e4m3fn') {
      const scale = this.weights!.scale?.(scaleKey) ?? 1;
      const scaleValue = to === 'float32' ? this.scalar(scale) : this.cachedConstant('float16', [], new Uint8Array(Uint16Array.of(float32ToFloat16Bits(scale)).buffer));
      return this.op('DequantizeLinear', [stored, scaleValue], { name: `${key}.dequant${suffix}` });
    }
    this.castsWeights = true;
    return this.cast(stored, to, `${key}.cast${suffix}`);
  }

  /**
   * One row range of a composed weight (WeightSource.rowParts), as float32: an initializer over its own
   * bytes of the stored tensor, converted like a weight (fp8 with the stored tensor's scale).
   */
  weightPart(part: WeightPart): Value {
    const cached = this.weightValues.get(`${part.name}\u0000part`);
    if (cached) return cached;
    const dtype = SAFETENSORS_TO_ONNX[part.info.dtype];
    const init =
      part.data.kind === 'external'
        ? this.externalInitializer(part.name, dtype, part.info.shape, part.data.file, part.data.offset, part.data.length)
        : this.initializer(part.name, dtype, part.info.shape, part.data.bytes);
    const value = this.convertWeight(part.name, init, dtype, 'float32', part.storedKey);
    this.weightValues.set(`${part.name}\u0000part`, value);
    return value;
  }

  /**
   * One factor (up or down) of a LoRA patch as float32: an initializer over its bytes, converted like a
   * weight (never folded into a float32 copy).
   */
  lowRankFactor(name: string, part: WeightPatch['up']): Value {
    const cached = this.weightValues.get(`${name}\u0000factor`);
    if (cached) return cached;
    const dtype = SAFETENSORS_TO_ONNX[part.info.dtype];
    const init =
      part.data.kind === 'external'
        ? this.externalInitializer(name, dtype, part.info.shape, part.data.file, part.data.offset, part.data.length)
        : this.initializer(name, dtype, part.info.shape, part.data.bytes);
    const value = this.convertWeight(name, init, dtype, 'float32');
    this.weightValues.set(`${name}\u0000factor`, value);
    return value;
  }

  /**
   * The strength of LoRA slot `slot` as a scalar: element `slot` of the graph input `lora_strengths` [K] (float32,
   * declared on first use; the caller feeds one strength per LoRA file).
   */
  loraStrength(slot: number): Value {
    const cacheKey = `lora_strengths\u0000${slot}`;
    const cached = this.weightValues.get(cacheKey);
    if (cached) return cached;
    if (!this.names.has(LORA_STRENGTHS_INPUT)) this.input(LORA_STRENGTHS_INPUT, 'float32', ['K']);
    const scalar = this.gather({ name: LORA_STRENGTHS_INPUT }, this.constInt64([slot], []), 0, `${LORA_STRENGTHS_INPUT}.${slot}`); // []
    this.weightValues.set(cacheKey, scalar);
    return scalar;
  }

  /** An inline float32 constant (deduplicated by contents when unnamed). */
  constFloat(values: ArrayLike<number>, dims: readonly number[] = [values.length], name?: string): Value {
    const data = Float32Array.from(values);
    return this.cachedConstant('float32', dims, new Uint8Array(data.buffer), name);
  }

  /** An inline int64 constant, used for shapes, axes, starts/ends (deduplicated by contents when unnamed). */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length], name?: string): Value {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.cachedConstant('int64', dims, new Uint8Array(data.buffer), name);
  }

  /** A float32 scalar constant. */
  scalar(value: number, name?: string): Value {
    return this.constFloat([value], [], name);
  }

  private cachedConstant(dtype: OnnxDType, dims: readonly number[], bytes: Uint8Array, name?: string): Value {
    if (name !== undefined) return this.initializer(name, dtype, dims, bytes);
    const key = `${dtype}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const value = this.initializer(this.autoName(`const_${dtype}`), dtype, dims, bytes);
    this.constantCache.set(key, value);
    return value;
  }

  // ---------------------------------------------------------------- generic op

  /** Adds a node and returns its first output. */
  op(opType: string, inputs: readonly Value[], options: OpOptions = {}): Value {
    return this.opMulti(opType, inputs, options)[0]!;
  }

  /** Adds a node and returns all its outputs. */
  opMulti(opType: string, inputs: readonly Value[], options: OpOptions = {}): Value[] {
    const name = options.name ?? this.autoName(opType);
    const count = options.outputs ?? 1;
    const outputNames = Array.from({ length: count }, (_, i) => (i === 0 ? name : `${name}:${i}`));
    for (const o of outputNames) this.claim(o);
    for (const i of inputs) {
      if (i.name !== '' && !this.names.has(i.name)) {
        throw new Error(`GraphBuilder: node '${name}' (${opType}) reads unknown tensor '${i.name}'`);
      }
    }
    const node: INodeProto = {
      name,
      opType,
      input: inputs.map((i) => i.name),
      output: outputNames,
      attribute: Object.entries(options.attrs ?? {}).map(([k, a]) => encodeAttr(k, a)),
    };
    if (options.domain) node.domain = options.domain;
    this.nodes.push(node);
    return outputNames.map((n) => ({ name: n }));
  }

  // ---------------------------------------------------------------- elementwise

  add(a: Value, b: Value, name?: string): Value {
    return this.op('Add', [a, b], { name });
  }
  sub(a: Value, b: Value, name?: string): Value {
    return this.op('Sub', [a, b], { name });
  }
  mul(a: Value, b: Value, name?: string): Value {
    return this.op('Mul', [a, b], { name });
  }
  div(a: Value, b: Value, name?: string): Value {
    return this.op('Div', [a, b], { name });
  }
  pow(a: Value, b: Value, name?: string): Value {
    return this.op('Pow', [a, b], { name });
  }
  sqrt(x: Value, name?: string): Value {
    return this.op('Sqrt', [x], { name });
  }
  reciprocal(x: Value, name?: string): Value {
    return this.op('Reciprocal', [x], { name });
  }
  exp(x: Value, name?: string): Value {
    return this.op('Exp', [x], { name });
  }
  neg(x: Value, name?: string): Value {
    return this.op('Neg', [x], { name });
  }
  cos(x: Value, name?: string): Value {
    return this.op('Cos', [x], { name });
  }
  sin(x: Value, name?: string): Value {
    return this.op('Sin', [x], { name });
  }
  tanh(x: Value, name?: string): Value {
    return this.op('Tanh', [x], { name });
  }
  sigmoid(x: Value, name?: string): Value {
    return this.op('Sigmoid', [x], { name });
  }
  relu(x: Value, name?: string): Value {
    return this.op('Relu', [x], { name });
  }
  /** x * sigmoid(x). ONNX opset 21 has no SiLU op, so this is two nodes: `<name>.sigmoid` and `<name>`. */
  silu(x: Value, name?: string): Value {
    const n = name ?? this.autoName('SiLU');
    return this.mul(x, this.sigmoid(x, `${n}.sigmoid`), n);
  }
  /** GELU; `approximate: 'tanh'` is the form FLUX's MLPs use. */
  gelu(x: Value, approximate: 'none' | 'tanh' = 'none', name?: string): Value {
    return this.op('Gelu', [x], { name, attrs: { approximate: attr.string(approximate) } });
  }
  /** Selects from `a` where `cond` is true, else from `b`. */
  where(cond: Value, a: Value, b: Value, name?: string): Value {
    return this.op('Where', [cond, a, b], { name });
  }
  equal(a: Value, b: Value, name?: string): Value {
    return this.op('Equal', [a, b], { name });
  }
  cast(x: Value, to: OnnxDType, name?: string): Value {
    return this.op('Cast', [x], { name, attrs: { to: attr.int(ONNX_DTYPE_CODES[to]) } });
  }
  identity(x: Value, name?: string): Value {
    return this.op('Identity', [x], { name });
  }

  // ---------------------------------------------------------------- linear algebra

  matMul(a: Value, b: Value, name?: string): Value {
    return this.op('MatMul', [a, b], { name });
  }
  /** Y = alpha * A' * B' + beta * C on 2-D A and B (transB reads a torch Linear weight [out, in] without copying it). */
  gemm(
    a: Value,
    b: Value,
    options: { c?: Value; transA?: boolean; transB?: boolean; alpha?: number; beta?: number; name?: string } = {},
  ): Value {
    const attrs: Record<string, Attr> = {};
    if (options.transA) attrs.transA = attr.int(1);
    if (options.transB) attrs.transB = attr.int(1);
    if (options.alpha !== undefined) attrs.alpha = attr.float(options.alpha);
    if (options.beta !== undefined) attrs.beta = attr.float(options.beta);
    const inputs = options.c ? [a, b, options.c] : [a, b];
    return this.op('Gemm', inputs, { name: options.name, attrs });
  }
  conv(
    x: Value,
    w: Value,
    bias: Value | undefined,
    options: { strides?: number[]; pads?: number[]; dilations?: number[]; group?: number; name?: string } = {},
  ): Value {
    const attrs: Record<string, Attr> = {};
    if (options.strides) attrs.strides = attr.ints(options.strides);
    if (options.pads) attrs.pads = attr.ints(options.pads);
    if (options.dilations) attrs.dilations = attr.ints(options.dilations);
    if (options.group !== undefined) attrs.group = attr.int(options.group);
    return this.op('Conv', bias ? [x, w, bias] : [x, w], { name: options.name, attrs });
  }
  convTranspose(
    x: Value,
    w: Value,
    bias: Value | undefined,
    options: { strides?: number[]; pads?: number[]; outputPadding?: number[]; group?: number; name?: string } = {},
  ): Value {
    const attrs: Record<string, Attr> = {};
    if (options.strides) attrs.strides = attr.ints(options.strides);
    if (options.pads) attrs.pads = attr.ints(options.pads);
    if (options.outputPadding) attrs.output_padding = attr.ints(options.outputPadding);
    if (options.group !== undefined) attrs.group = attr.int(options.group);
    return this.op('ConvTranspose', bias ? [x, w, bias] : [x, w], { name: options.name, attrs });
  }

  // ---------------------------------------------------------------- normalisation and reductions

  softmax(x: Value, axis = -1, name?: string): Value {
    return this.op('Softmax', [x], { name, attrs: { axis: attr.int(axis) } });
  }
  /** LayerNormalization over the axes from `axis` on; `scale` is required by ONNX (pass ones for no affine). */
  layerNormalization(x: Value, scale: Value, bias: Value | undefined, epsilon: number, axis = -1, name?: string): Value {
    return this.op('LayerNormalization', bias ? [x, scale, bias] : [x, scale], {
      name,
      attrs: { axis: attr.int(axis), epsilon: attr.float(epsilon) },
    });
  }
  reduceMean(x: Value, axes: readonly number[], keepdims = true, name?: string): Value {
    return this.op('ReduceMean', [x, this.constInt64([...axes])], { name, attrs: { keepdims: attr.int(keepdims ? 1 : 0) } });
  }
  reduceSum(x: Value, axes: readonly number[], keepdims = true, name?: string): Value {
    return this.op('ReduceSum', [x, this.constInt64([...axes])], { name, attrs: { keepdims: attr.int(keepdims ? 1 : 0) } });
  }

  // ---------------------------------------------------------------- shape manipulation

  /** Reshape to a fixed shape (0 copies the input's dim, -1 infers one dim) or to a shape tensor. */
  reshape(x: Value, shape: readonly number[] | Value, name?: string): Value {
    const s = isValue(shape) ? shape : this.constInt64([...shape]);
    return this.op('Reshape', [x, s], { name });
  }
  transpose(x: Value, perm: readonly number[], name?: string): Value {
    return this.op('Transpose', [x], { name, attrs: { perm: attr.ints(perm) } });
  }
  concat(values: readonly Value[], axis: number, name?: string): Value {
    return this.op('Concat', values, { name, attrs: { axis: attr.int(axis) } });
  }
  /** Slice along `axes` with int64 starts/ends (use a large number such as 2**62 for "to the end"). */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[], name?: string): Value {
    const inputs = [x, this.constInt64([...starts]), this.constInt64([...ends]), this.constInt64([...axes])];
    if (steps) inputs.push(this.constInt64([...steps]));
    return this.op('Slice', inputs, { name });
  }
  /** Split into pieces of the given sizes along `axis`. Outputs are `<name>`, `<name>:1`, ... */
  split(x: Value, sizes: readonly number[], axis: number, name?: string): Value[] {
    return this.opMulti('Split', [x, this.constInt64([...sizes])], {
      name,
      outputs: sizes.length,
      attrs: { axis: attr.int(axis) },
    });
  }
  gather(x: Value, indices: Value, axis = 0, name?: string): Value {
    return this.op('Gather', [x, indices], { name, attrs: { axis: attr.int(axis) } });
  }
  unsqueeze(x: Value, axes: readonly number[], name?: string): Value {
    return this.op('Unsqueeze', [x, this.constInt64([...axes])], { name });
  }
  squeeze(x: Value, axes: readonly number[], name?: string): Value {
    return this.op('Squeeze', [x, this.constInt64([...axes])], { name });
  }
  shape(x: Value, options: { start?: number; end?: number; name?: string } = {}): Value {
    const attrs: Record<string, Attr> = {};
    if (options.start !== undefined) attrs.start = attr.int(options.start);
    if (options.end !== undefined) attrs.end = attr.int(options.end);
    return this.op('Shape', [x], { name: options.name, attrs });
  }
  expand(x: Value, shape: readonly number[] | Value, name?: string): Value {
    const s = isValue(shape) ? shape : this.constInt64([...shape]);
    return this.op('Expand', [x, s], { name });
  }
  /** An inline constant as a Constant node (prefer constFloat/constInt64 initializers; this exists for completeness). */
  constantNode(values: ArrayLike<number>, dims: readonly number[], name?: string): Value {
    const data = Float32Array.from(values);
    return this.op('Constant', [], {
      name,
      attrs: {
        value: {
          type: 'tensor',
          value: { dataType: ONNX_DTYPE_CODES.float32, dims: [...dims], rawData: new Uint8Array(data.buffer) },
        },
      },
    });
  }
  /** Resize by scale factors (e.g. [1, 1, 2, 2] for a 2x nearest upsample of NCHW). */
  resize(
    x: Value,
    scales: readonly number[],
    options: { mode?: 'nearest' | 'linear' | 'cubic'; coordinateTransformationMode?: string; nearestMode?: string; name?: string } = {},
  ): Value {
    const attrs: Record<string, Attr> = { mode: attr.string(options.mode ?? 'nearest') };
    if (options.coordinateTransformationMode) {
      attrs.coordinate_transformation_mode = attr.string(options.coordinateTransformationMode);
    }
    if (options.nearestMode) attrs.nearest_mode = attr.string(options.nearestMode);
    return this.op('Resize', [x, NONE, this.constFloat([...scales])], { name: options.name, attrs });
  }

  // ---------------------------------------------------------------- serialisation

  /** The ModelProto as a plain object (for inspection in tests). */
  toModelProto(externalDataDir: string | null = this.externalDataDir()): IModelProto {
    for (const ext of this.externals) {
      if (externalDataDir === null) throw new Error('GraphBuilder: external data without a folder');
      const location = relative(externalDataDir, ext.file).split(sep).join('/');
      ext.tensor.externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: String(ext.offset) },
        { key: 'length', value: String(ext.length) },
      ];
    }
    return {
      irVersion: IR_VERSION,
      opsetImport: [
        { domain: '', version: OPSET_VERSION },
        ...(this.nodes.some((n) => n.domain === MICROSOFT_DOMAIN) ? [{ domain: MICROSOFT_DOMAIN, version: 1 }] : []),
      ],
      producerName: 'uso-studio',
      metadataProps: Object.entries(this.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  /** The deepest folder holding every external data file, or null when there is none. */
  externalDataDir(): string | null {
    if (this.externals.length === 0) return null;
    let common = dirname(this.externals[0]!.file);
    for (const ext of this.externals) {
      while (!isInside(ext.file, common)) {
        const parent = dirname(common);
        if (parent === common) break;
        common = parent;
      }
    }
    return common;
  }

  /** Serialises the model. */
  build(): BuildResult {
    if (this.outputs.length === 0) throw new Error(`GraphBuilder '${this.name}': the graph has no outputs`);
    const externalDataDir = this.externalDataDir();
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(this.toModelProto(externalDataDir))).finish();
    const weightBytes = this.inlineBytes + this.externals.reduce((sum, e) => sum + e.length, 0);
    return { bytes, externalDataDir, weightBytes, castsWeights: this.castsWeights };
  }

  /** Serialises the model and writes it to `path` (creating folders). */
  save(path: string): BuildResult & { readonly path: string } {
    const result = this.build();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, result.bytes);
    return { ...result, path };
  }

  /** Node names in insertion order, for golden dumps and tests. */
  nodeNames(): string[] {
    return this.nodes.map((n) => n.name ?? '');
  }
}

function isValue(x: unknown): x is Value {
  return typeof x === 'object' && x !== null && 'name' in x && typeof (x as Value).name === 'string';
}

function isInside(file: string, dir: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}

function valueInfo(name: string, dtype: OnnxDType, dims: readonly Dim[] | undefined): IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ONNX_DTYPE_CODES[dtype] };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

function encodeAttr(name: string, a: Attr): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'string':
      return { name, type: T.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'tensor':
      return { name, type: T.TENSOR, t: a.value };
  }
}
