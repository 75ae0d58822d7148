/**
 * Shared block builders. Architecture modules compose these; each takes the checkpoint module path as its prefix, so
 * weight keys are `<prefix>.weight` / `<prefix>.bias` and every intermediate node is named `<prefix>.<step>`
 * (e.g. `double_blocks.0.img_attn.qkv`, `double_blocks.0.img_attn.attn.softmax`). Names are stable across builds.
 *
 * Conventions: B batch, L/N sequence length, C channels, H heads, D head width. Weights follow torch's layouts
 * (Linear [out, in], Conv2d [out, in, kh, kw]) and reach the compute dtype inside the graph (GraphBuilder.weight).
 */

import { MICROSOFT_DOMAIN, type GraphBuilder, type Value } from './graph-builder.ts';
import { hasWeight, linear, weightShape } from './linear.ts';

export { linear, linearGroups } from './linear.ts';

/**
 * Bump whenever a block below or in linear.ts changes the graph it builds: the loader puts it in every graph's cache
 * key, so a graph cached by an older builder is never reused.
 */
export const BLOCKS_VERSION = 4;

/**
 * LayerNorm over the last axis (width `dim`). Affine: weights `<prefix>.weight`, `<prefix>.bias`; without affine
 * (FLUX's norm1/norm2) the scale is a constant of ones. Output node `<prefix>`.
 */
export function layerNorm(
  g: GraphBuilder,
  x: Value,
  prefix: string,
  options: { dim: number; eps: number; affine: boolean },
): Value {
  const scale = options.affine ? g.weight(`${prefix}.weight`) : g.constFloat(new Float32Array(options.dim).fill(1)); // [C]
  const bias = options.affine && hasWeight(g, `${prefix}.bias`) ? g.weight(`${prefix}.bias`) : undefined; // [C]
  return g.layerNormalization(x, scale, bias, options.eps, -1, prefix); // same shape as x
}

/**
 * RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * scale, computed in float32. `weightKey` is the full key of
 * the scale (FLUX QK-norm: `<block>.img_attn.norm.query_norm.scale`; T5: `<layer>.layer_norm.weight`).
 * Nodes `<name>.sq`, `<name>.mean`, `<name>.rms`, `<name>.normed`, `<name>`.
 */
export function rmsNorm(g: GraphBuilder, x: Value, name: string, options: { weightKey: string; eps: number }): Value {
  const sq = g.mul(x, x, `${name}.sq`); // [..., C]
  const mean = g.reduceMean(sq, [-1], true, `${name}.mean`); // [..., 1]
  const rms = g.sqrt(g.add(mean, g.scalar(options.eps), `${name}.mean_eps`), `${name}.rms`); // [..., 1]
  const normed = g.div(x, rms, `${name}.normed`); // [..., C]
  return g.mul(normed, g.weight(options.weightKey), name); // [..., C]
}

/**
 * Splits a fused qkv projection into heads, as FLUX's `rearrange(qkv, "B L (K H D) -> K B H L D", K=3)`.
 * Input [B, L, 3*H*D] -> q, k, v each [B, H, L, D].
 */
export function splitQkv(g: GraphBuilder, qkv: Value, name: string, heads: number): [Value, Value, Value] {
  const r = g.reshape(qkv, [0, 0, 3, heads, -1], `${name}.heads`); // [B, L, 3, H, D]
  const t = g.transpose(r, [2, 0, 3, 1, 4], `${name}.kbhld`); // [3, B, H, L, D]
  const [q, k, v] = g.split(t, [1, 1, 1], 0, `${name}.split`); // 3 x [1, B, H, L, D]
  return [
    g.squeeze(q!, [0], `${name}.q`), // [B, H, L, D]
    g.squeeze(k!, [0], `${name}.k`),
    g.squeeze(v!, [0], `${name}.v`),
  ];
}

/**
 * Scaled dot-product attention with heads merged back.
 * q [B, H, Lq, D], k/v [B, H, Lk, D], optional additive mask broadcastable to [B, H, Lq, Lk]
 * -> [B, Lq, H*D]. Scale defaults to 1/sqrt(D) and needs `headDim`; scale 1 (T5) adds no node.
 */
export function attention(
  g: GraphBuilder,
  q: Value,
  k: Value,
  v: Value,
  name: string,
  options: { headDim: number; mask?: Value; scale?: number },
): Value {
  const scale = options.scale ?? 1 / Math.sqrt(options.headDim);
  const kt = g.transpose(k, [0, 1, 3, 2], `${name}.kt`); // [B, H, D, Lk]
  // T5 does not scale its scores; skip the multiply by one rather than spend a pass over q on it.
  const qs = scale === 1 ? q : g.mul(q, g.scalar(scale), `${name}.q_scaled`); // [B, H, Lq, D]
  let scores = g.matMul(qs, kt, `${name}.scores`); // [B, H, Lq, Lk]
  if (options.mask) scores = g.add(scores, options.mask, `${name}.masked`);
  const probs = g.softmax(scores, -1, `${name}.softmax`); // [B, H, Lq, Lk]
  const out = g.matMul(probs, v, `${name}.values`); // [B, H, Lq, D]
  const bl = g.transpose(out, [0, 2, 1, 3], `${name}.blhd`); // [B, Lq, H, D]
  return g.reshape(bl, [0, 0, -1], name); // [B, Lq, H*D]
}

/**
 * Attention through onnxruntime's fused com.microsoft MultiHeadAttention, which on the CPU runs a tiled (flash)
 * kernel, so the [B, H, Lq, Lk] scores are never materialised for the whole sequence. Rotary embeddings must be applied
 * beforehand. q [B, Lq, H*D], k/v [B, Lk, H*D] -> [B, Lq, H*D]; scale 1/sqrt(D).
 */
export function fusedAttention(g: GraphBuilder, q: Value, k: Value, v: Value, name: string, options: { heads: number }): Value {
  return g.op('MultiHeadAttention', [q, k, v], {
    name,
    domain: MICROSOFT_DOMAIN,
    attrs: { num_heads: { type: 'int', value: options.heads } },
  });
}

/** Rotation tables for RoPE: cos and sin of the angles, shaped to broadcast over [B, H, N, D/2, 1]. */
export interface RopeTables {
  readonly cos: Value;
  readonly sin: Value;
}

/**
 * FLUX-style N-axis RoPE tables (EmbedND): for axis i of the position ids with width d_i, angles are
 * ids[..., i] * theta^(-2j/d_i) for j < d_i/2, concatenated over the axes (sum of d_i = head width D).
 * ids [N, A] or [B, N, A] float32 -> cos/sin [N, D/2, 1] or [B, 1, N, D/2, 1].
 */
export function ropeTables(
  g: GraphBuilder,
  ids: Value,
  name: string,
  options: {
    axesDim: readonly number[];
    theta: number;
    batched: boolean;
    /** Angles, cos and sin in float64, then cast to float32, as FLUX's EmbedND computes them. Default false. */
    float64?: boolean;
    /** 'tokens-first': tables broadcast over [B, N, H, D] ([B, N, 1, D/2, 1]) instead of [B, H, N, D]. */
    layout?: 'heads-first' | 'tokens-first';
  },
): RopeTables {
  const wide = options.float64 ?? false;
  const source = wide ? g.cast(ids, 'float64', `${name}.ids_f64`) : ids;
  const parts = options.axesDim.map((dim, axis) => {
    if (dim % 2 !== 0) throw new Error(`ropeTables '${name}': axis ${axis} width ${dim} must be even`);
    const omega = Array.from({ length: dim / 2 }, (_, j) => 1 / options.theta ** ((2 * j) / dim));
    const omegaValue = wide
      ? g.initializer(`${name}.omega${axis}`, 'float64', [dim / 2], new Uint8Array(Float64Array.from(omega).buffer))
      : g.constFloat(omega, [dim / 2], `${name}.omega${axis}`);
    const pos = g.slice(source, [axis], [axis + 1], [-1], undefined, `${name}.pos${axis}`); // [..., N, 1]
    return g.mul(pos, omegaValue, `${name}.angles${axis}`); // [..., N, d_i/2]
  });
  let angles = g.concat(parts, -1, `${name}.angles`); // [..., N, D/2]
  const axes = !options.batched ? [-1] : options.layout === 'tokens-first' ? [2, -1] : [1, -1];
  angles = g.unsqueeze(angles, axes, `${name}.angles_bcast`); // [B, 1, N, D/2, 1] | [B, N, 1, D/2, 1] | [N, D/2, 1]
  if (!wide) return { cos: g.cos(angles, `${name}.cos`), sin: g.sin(angles, `${name}.sin`) };
  return {
    cos: g.cast(g.cos(angles, `${name}.cos_f64`), 'float32', `${name}.cos`),
    sin: g.cast(g.sin(angles, `${name}.sin_f64`), 'float32', `${name}.sin`),
  };
}

/**
 * Rotates interleaved pairs (x[2j], x[2j+1]) of the head width by the RoPE angles, as FLUX's apply_rope.
 * x [B, H, N, D] -> [B, H, N, D].
 */
export function applyRope(g: GraphBuilder, x: Value, tables: RopeTables, name: string): Value {
  const pairs = g.reshape(x, [0, 0, 0, -1, 2], `${name}.pairs`); // [B, H, N, D/2, 2]
  const [x0, x1] = g.split(pairs, [1, 1], -1, `${name}.split`); // 2 x [B, H, N, D/2, 1]
  const r0 = g.sub(g.mul(x0!, tables.cos, `${name}.x0cos`), g.mul(x1!, tables.sin, `${name}.x1sin`), `${name}.r0`);
  const r1 = g.add(g.mul(x0!, tables.sin, `${name}.x0sin`), g.mul(x1!, tables.cos, `${name}.x1cos`), `${name}.r1`);
  const joined = g.concat([r0, r1], -1, `${name}.joined`); // [B, H, N, D/2, 2]
  return g.reshape(joined, [0, 0, 0, -1], name); // [B, H, N, D]
}

export type Activation = 'gelu-tanh' | 'gelu' | 'silu' | 'quick-gelu' | 'relu';

/** Applies an activation; node `<name>` (plus helpers under it). */
export function activation(g: GraphBuilder, x: Value, kind: Activation, name: string): Value {
  switch (kind) {
    case 'gelu-tanh':
      return g.gelu(x, 'tanh', name);
    case 'gelu':
      return g.gelu(x, 'none', name);
    case 'silu':
      return g.silu(x, name);
    case 'relu':
      return g.relu(x, name);
    case 'quick-gelu': // CLIP: x * sigmoid(1.702 x)
      return g.mul(x, g.sigmoid(g.mul(x, g.scalar(1.702), `${name}.scaled`), `${name}.sigmoid`), name);
  }
}

/**
 * Two-layer MLP: fc2(act(fc1(x))). `fc1`/`fc2` are the module paths of the Linears (FLUX: `<block>.img_mlp.0` and
 * `<block>.img_mlp.2`). [..., C] -> [..., C_out]; the activation node is `<fc1>.act`.
 */
export function mlp(g: GraphBuilder, x: Value, fc1: string, fc2: string, act: Activation = 'gelu-tanh'): Value {
  const h = linear(g, x, fc1); // [..., hidden]
  return linear(g, activation(g, h, act, `${fc1}.act`), fc2); // [..., C_out]
}

/** One adaLN modulation triple, each [B, 1, C]. */
export interface ModulationOut {
  readonly shift: Value;
  readonly scale: Value;
  readonly gate: Value;
}

/**
 * FLUX Modulation: `<prefix>.lin` over silu(vec), split into `count` triples (1 for single blocks, 2 for double).
 * vec [B, C] -> count x {shift, scale, gate} each [B, 1, C].
 */
export function modulation(g: GraphBuilder, vec: Value, prefix: string, count: 1 | 2): ModulationOut[] {
  const [outWidth] = weightShape(g, `${prefix}.lin.weight`) as [number];
  const chunk = outWidth / (3 * count);
  if (!Number.isInteger(chunk)) throw new Error(`modulation '${prefix}': width ${outWidth} is not divisible by ${3 * count}`);
  const act = g.silu(vec, `${prefix}.silu`); // [B, C]
  const lin = linear(g, act, `${prefix}.lin`); // [B, 3*count*C]
  const expanded = g.unsqueeze(lin, [1], `${prefix}.unsqueeze`); // [B, 1, 3*count*C]
  const pieces = g.split(expanded, Array(3 * count).fill(chunk), -1, `${prefix}.chunks`); // 3*count x [B, 1, C]
  const out: ModulationOut[] = [];
  for (let i = 0; i < count; i++) out.push({ shift: pieces[3 * i]!, scale: pieces[3 * i + 1]!, gate: pieces[3 * i + 2]! });
  return out;
}

/** (1 + scale) * x + shift. x [B, L, C], shift/scale [B, 1, C] -> [B, L, C]. */
export function modulate(g: GraphBuilder, x: Value, mod: ModulationOut, name: string): Value {
  const onePlus = g.add(mod.scale, g.scalar(1), `${name}.one_plus_scale`); // [B, 1, C]
  return g.add(g.mul(x, onePlus, `${name}.scaled`), mod.shift, name); // [B, L, C]
}

/**
 * Sinusoidal timestep embedding (FLUX `timestep_embedding`): t is multiplied by `timeFactor` (1000 in FLUX), then
 * [cos(t f_j), sin(t f_j)] with f_j = exp(-ln(maxPeriod) j / half) for j < half = dim/2.
 * t [B] -> [B, dim].
 */
export function timestepEmbedding(
  g: GraphBuilder,
  t: Value,
  name: string,
  options: { dim: number; maxPeriod?: number; timeFactor?: number },
): Value {
  const half = Math.floor(options.dim / 2);
  const maxPeriod = options.maxPeriod ?? 10000;
  const freqs = Array.from({ length: half }, (_, j) => Math.exp((-Math.log(maxPeriod) * j) / half));
  const scaled = g.mul(t, g.scalar(options.timeFactor ?? 1000), `${name}.scaled`); // [B]
  const col = g.unsqueeze(scaled, [1], `${name}.col`); // [B, 1]
  const args = g.mul(col, g.constFloat(freqs, [half], `${name}.freqs`), `${name}.args`); // [B, half]
  let emb = g.concat([g.cos(args, `${name}.cos`), g.sin(args, `${name}.sin`)], -1, name); // [B, 2*half]
  if (options.dim % 2 === 1) {
    // Odd widths get a zero column, as FLUX does.
    const zeros = g.mul(g.slice(args, [0], [1], [1], undefined, `${name}.pad_src`), g.scalar(0), `${name}.pad`);
    emb = g.concat([emb, zeros], -1, `${name}.padded`);
  }
  return emb;
}

/** Zero padding per side of a convolution's input, in pixels. */
export interface ConvPads {
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

/**
 * torch.nn.Conv2d with weight `<prefix>.weight` [out, in, kh, kw] and optional bias.
 * x [B, in, H, W] -> [B, out, H', W']. `padding` is symmetric per side; `pads` (which overrides it) gives each side,
 * e.g. the FLUX VAE's F.pad(x, (0, 1, 0, 1)) before a stride-2 conv is `{ top: 0, left: 0, bottom: 1, right: 1 }`.
 */
export function conv2d(
  g: GraphBuilder,
  x: Value,
  prefix: string,
  options: { stride?: number; padding?: number; pads?: ConvPads; bias?: boolean } = {},
): Value {
  const stride = options.stride ?? 1;
  const pad = options.padding ?? 0;
  const pads = options.pads ?? { top: pad, left: pad, bottom: pad, right: pad };
  const useBias = options.bias ?? hasWeight(g, `${prefix}.bias`);
  return g.conv(x, g.weight(`${prefix}.weight`), useBias ? g.weight(`${prefix}.bias`) : undefined, {
    strides: [stride, stride],
    pads: [pads.top, pads.left, pads.bottom, pads.right],
    name: prefix,
  });
}

/**
 * torch.nn.GroupNorm over NCHW with affine weights `<prefix>.weight`/`<prefix>.bias` [C]. Built from reshapes and
 * reductions (ONNX GroupNormalization changed its scale shape between opsets).
 * x [B, C, H, W] -> [B, C, H, W].
 */
export function groupNorm(
  g: GraphBuilder,
  x: Value,
  prefix: string,
  options: { groups: number; eps: number },
): Value {
  const grouped = g.reshape(x, [0, options.groups, -1], `${prefix}.grouped`); // [B, G, C/G*H*W]
  const mean = g.reduceMean(grouped, [-1], true, `${prefix}.mean`); // [B, G, 1]
  const centred = g.sub(grouped, mean, `${prefix}.centred`);
  const variance = g.reduceMean(g.mul(centred, centred, `${prefix}.sq`), [-1], true, `${prefix}.var`); // [B, G, 1]
  const std = g.sqrt(g.add(variance, g.scalar(options.eps), `${prefix}.var_eps`), `${prefix}.std`);
  const normed = g.div(centred, std, `${prefix}.normed`); // [B, G, C/G*H*W]
  const back = g.reshape(normed, g.shape(x, { name: `${prefix}.in_shape` }), `${prefix}.ungrouped`); // [B, C, H, W]
  const w = g.unsqueeze(g.weight(`${prefix}.weight`), [1, 2], `${prefix}.w3`); // [C, 1, 1]
  const b = g.unsqueeze(g.weight(`${prefix}.bias`), [1, 2], `${prefix}.b3`); // [C, 1, 1]
  return g.add(g.mul(back, w, `${prefix}.scaled`), b, prefix);
}

/** Nearest-neighbour upsampling of NCHW by an integer factor. [B, C, H, W] -> [B, C, fH, fW]. */
export function upsampleNearest(g: GraphBuilder, x: Value, name: string, factor = 2): Value {
  return g.resize(x, [1, 1, factor, factor], { mode: 'nearest', nearestMode: 'floor', coordinateTransformationMode: 'asymmetric', name });
}
