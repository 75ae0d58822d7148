/**
 * The FLUX.1 DiT (`flux-dit`) with USO's style and reference tokens, as Black Forest Labs' block diagram:
 *
 *   img, ref_img ──concat──> img_in ─┐                      ┌─> 19 double blocks ─> concat(txt, img) ─> 38 single blocks
 *   txt ─> txt_in ─> concat(style, ·) ┘  (two streams, joint attention)                          │
 *   timesteps, guidance, y ─> vec = time_in(emb(t)) + guidance_in(emb(g)) + vector_in(y)            │
 *   ids = [style 0s, txt_ids, img_ids, ref_img_ids] ─> 3-axis RoPE                                   │
 *                                            first N image tokens <─ slice <───────────────────────┘ ─> final_layer
 *
 * Tokens are kept as [B, L, H, D] ("tokens first") throughout, so the heads need no transposes: the QK RMSNorm and
 * RoPE act on the last axes, and attention is onnxruntime's fused MultiHeadAttention over [B, L, H*D] (blocks.ts
 * fusedAttention), which never materialises the [B, H, L, L] scores. One graph serves every USO mode: style [B, 0, hidden]
 * and ref_img [B, 0, 64] are zero-length.
 */

import { GraphBuilder, attr, type Value } from '../../onnx/graph-builder.ts';
import { withSymbolicShapes } from '../../onnx/symbolic-shapes.ts';
import {
  applyRope,
  fusedAttention,
  layerNorm,
  linear,
  linearGroups,
  mlp,
  modulate,
  modulation,
  rmsNorm,
  ropeTables,
  timestepEmbedding,
  type ModulationOut,
  type RopeTables,
} from '../../onnx/blocks.ts';
import type { Architecture } from '../architecture.ts';
import {
  detectFluxDit,
  FLUX_NORM_EPS,
  fluxActivationBytes,
  fluxIgnoredWeights,
  fluxLookalike,
  FLUX_TIME_DIM,
  fluxRequiredWeights,
  inferFluxDitConfig,
  type FluxDitConfig,
} from './flux-dit-config.ts';
import { fluxDiffusersLayout } from './flux-dit-names.ts';

export const FLUX_DIT_ID = 'flux-dit';

/** LayerNorm without affine weights (FLUX's norm1/norm2/pre_norm/norm_final). */
function plainNorm(g: GraphBuilder, x: Value, name: string, hidden: number): Value {
  return layerNorm(g, x, name, { dim: hidden, eps: FLUX_NORM_EPS, affine: false });
}

/** MLPEmbedder: out_layer(silu(in_layer(x))). [B, in] -> [B, hidden]. */
function mlpEmbedder(g: GraphBuilder, x: Value, prefix: string): Value {
  return mlp(g, x, `${prefix}.in_layer`, `${prefix}.out_layer`, 'silu');
}

/**
 * Fused qkv [B, L, 3*H*D] -> q, k, v [B, L, H*D], with q and k RMS-normed per head (learned scale) and rotated.
 * `norm` is the module path of the QKNorm (`<block>.img_attn.norm`, `<block>.norm`).
 */
function headsWithRope(g: GraphBuilder, qkv: Value, name: string, norm: string, c: FluxDitConfig, pe: RopeTables): [Value, Value, Value] {
  const headDim = c.hidden / c.heads;
  const split = g.reshape(qkv, [0, 0, 3, c.heads, headDim], `${name}.heads`); // [B, L, 3, H, D]
  const [q5, k5, v5] = g.split(split, [1, 1, 1], 2, `${name}.split`); // 3 x [B, L, 1, H, D]
  const q = rmsNorm(g, g.squeeze(q5!, [2], `${name}.q`), `${norm}.query_norm`, { weightKey: `${norm}.query_norm.scale`, eps: FLUX_NORM_EPS }); // [B, L, H, D]
  const k = rmsNorm(g, g.squeeze(k5!, [2], `${name}.k`), `${norm}.key_norm`, { weightKey: `${norm}.key_norm.scale`, eps: FLUX_NORM_EPS }); // [B, L, H, D]
  const flat = (x: Value, label: string) => g.reshape(x, [0, 0, -1], `${name}.${label}_flat`); // [B, L, H*D]
  return [
    flat(applyRope(g, q, pe, `${name}.q_rope`), 'q'),
    flat(applyRope(g, k, pe, `${name}.k_rope`), 'k'),
    flat(g.squeeze(v5!, [2], `${name}.v`), 'v'),
  ];
}

/** x + gate * y, with gate [B, 1, C]. */
function gatedResidual(g: GraphBuilder, x: Value, y: Value, mod: ModulationOut, name: string): Value {
  return g.add(x, g.mul(mod.gate, y, `${name}.gated`), name);
}

/**
 * A double block: each stream modulates and projects its own q/k/v, attention runs jointly over [txt, img], each
 * stream takes its part back through its own proj and MLP. txt [B, Lt, C], img [B, Li, C] -> the same shapes.
 */
export function doubleBlock(g: GraphBuilder, i: number, txt: Value, img: Value, vec: Value, pe: JointRope, streamSizes: Value, c: FluxDitConfig): [Value, Value] {
  const p = `double_blocks.${i}`;
  const streams = (['txt', 'img'] as const).map((s) => {
    const x = s === 'txt' ? txt : img;
    const [mod1, mod2] = modulation(g, vec, `${p}.${s}_mod`, 2) as [ModulationOut, ModulationOut];
    const normed = modulate(g, plainNorm(g, x, `${p}.${s}_norm1`, c.hidden), mod1, `${p}.${s}_modulated1`); // [B, L, C]
    const qkv = linear(g, normed, `${p}.${s}_attn.qkv`); // [B, L, 3C]
    return { s, x, mod1, mod2, heads: headsWithRope(g, qkv, `${p}.${s}_attn`, `${p}.${s}_attn.norm`, c, s === 'txt' ? pe.txt : pe.img) };
  });
  const [t, m] = streams as [(typeof streams)[0], (typeof streams)[0]];
  // Joint attention over text then image tokens.
  const joint = [0, 1, 2].map((j) => g.concat([t.heads[j]!, m.heads[j]!], 1, `${p}.joint_${'qkv'[j]}`)); // [B, Lt+Li, C]
  const attn = fusedAttention(g, joint[0]!, joint[1]!, joint[2]!, `${p}.attn`, { heads: c.heads }); // [B, Lt+Li, C]
  const [txtAttn, imgAttn] = g.opMulti('Split', [attn, streamSizes], { name: `${p}.attn_parts`, outputs: 2, attrs: { axis: attr.int(1) } }); // [B, Lt, C], [B, Li, C]
  const out = streams.map((st, j) => {
    const a = j === 0 ? txtAttn! : imgAttn!;
    const afterAttn = gatedResidual(g, st.x, linear(g, a, `${p}.${st.s}_attn.proj`), st.mod1, `${p}.${st.s}_attn_residual`); // [B, L, C]
    const normed = modulate(g, plainNorm(g, afterAttn, `${p}.${st.s}_norm2`, c.hidden), st.mod2, `${p}.${st.s}_modulated2`);
    const ff = mlp(g, normed, `${p}.${st.s}_mlp.0`, `${p}.${st.s}_mlp.2`, 'gelu-tanh'); // [B, L, C]
    return gatedResidual(g, afterAttn, ff, st.mod2, `${p}.${st.s}_out`);
  });
  return [out[0]!, out[1]!];
}

/**
 * A single block: one fused linear1 gives q/k/v and the MLP input (as row groups, so USO's q/k/v LoRA touches only
 * those rows), attention and MLP run in parallel, linear2 joins them.
 */
export function singleBlock(g: GraphBuilder, i: number, x: Value, vec: Value, pe: JointRope, c: FluxDitConfig): Value {
  const p = `single_blocks.${i}`;
  const [mod] = modulation(g, vec, `${p}.modulation`, 1) as [ModulationOut];
  const normed = modulate(g, plainNorm(g, x, `${p}.pre_norm`, c.hidden), mod, `${p}.modulated`); // [B, L, C]
  const [qkv, hiddenMlp] = linearGroups(g, normed, `${p}.linear1`, [3 * c.hidden, c.mlpHidden]); // [B, L, 3C], [B, L, mlp]
  const [q, k, v] = headsWithRope(g, qkv!, `${p}.attn`, `${p}.norm`, c, pe.all);
  const attn = fusedAttention(g, q, k, v, `${p}.attn`, { heads: c.heads }); // [B, L, C]
  const act = g.gelu(hiddenMlp!, 'tanh', `${p}.mlp_act`); // [B, L, mlp]
  const out = linear(g, g.concat([attn, act], -1, `${p}.linear2_in`), `${p}.linear2`); // [B, L, C]
  return gatedResidual(g, x, out, mod, `${p}.out`);
}

/** The RoPE tables of the text part, the image part and the whole joint sequence. */
export interface JointRope {
  readonly txt: RopeTables;
  readonly img: RopeTables;
  readonly all: RopeTables;
}

/** RoPE tables of the text side [B, Lt, 3] and image side [B, Li, 3] ids, and of both joined. */
export function jointRope(g: GraphBuilder, txtSideIds: Value, imgSideIds: Value, c: FluxDitConfig): JointRope {
  const rope = (ids: Value, name: string) =>
    ropeTables(g, ids, name, { axesDim: c.axesDim, theta: c.theta, batched: true, float64: true, layout: 'tokens-first' });
  return {
    txt: rope(txtSideIds, 'pe_txt'), // [B, Lt, 1, D/2, 1]
    img: rope(imgSideIds, 'pe_img'), // [B, Li, 1, D/2, 1]
    all: rope(g.concat([txtSideIds, imgSideIds], 1, 'joint_ids'), 'pe'), // [B, Lt+Li, 1, D/2, 1]
  };
}

/** Builds the whole graph for a config. */
export function buildFluxDit(c: FluxDitConfig, weights: GraphBuilder['weights']): GraphBuilder {
  const g = new GraphBuilder({ name: 'flux_dit', weights, metadata: { architecture: FLUX_DIT_ID, variant: c.variant } });
  const img = g.input('img', 'float32', ['B', 'N', c.inChannels]); // [B, N, 64]
  const imgIds = g.input('img_ids', 'float32', ['B', 'N', 3]);
  const ref = g.input('ref_img', 'float32', ['B', 'R', c.inChannels]); // [B, R, 64]
  const refIds = g.input('ref_img_ids', 'float32', ['B', 'R', 3]);
  const txt = g.input('txt', 'float32', ['B', 'L', c.ctx]); // [B, L, ctx]
  const txtIds = g.input('txt_ids', 'float32', ['B', 'L', 3]);
  const style = g.input('style', 'float32', ['B', 'S', c.hidden]); // [B, S, hidden]
  const timesteps = g.input('timesteps', 'float32', ['B']);
  const guidance = g.input('guidance', 'float32', ['B']);
  const y = g.input('y', 'float32', ['B', c.vec]); // [B, vec]

  // Streams: reference tokens join the image stream, style tokens go ahead of the text.
  const imgTokens = linear(g, g.concat([img, ref], 1, 'img_with_refs'), 'img_in'); // [B, N+R, C]
  const txtTokens = g.concat([style, linear(g, txt, 'txt_in')], 1, 'txt_with_style'); // [B, S+L, C]

  // Conditioning vector.
  const embed = (t: Value, name: string) => timestepEmbedding(g, t, name, { dim: FLUX_TIME_DIM, timeFactor: 1000 }); // [B, 256]
  let vec = mlpEmbedder(g, embed(timesteps, 'time_embedding'), 'time_in'); // [B, C]
  if (c.guidanceEmbed) vec = g.add(vec, mlpEmbedder(g, embed(guidance, 'guidance_embedding'), 'guidance_in'), 'vec_guidance');
  vec = g.add(vec, mlpEmbedder(g, y, 'vector_in'), 'vec'); // [B, C]

  // Position ids: style tokens at zero, then text, target and reference ids.
  const styleIdsShape = g.concat([g.shape(style, { end: 2, name: 'style_ids_lead' }), g.constInt64([3])], 0, 'style_ids_shape');
  const styleIds = g.op('ConstantOfShape', [styleIdsShape], { name: 'style_ids' }); // [B, S, 3] zeros
  const txtSideIds = g.concat([styleIds, txtIds], 1, 'txt_side_ids'); // [B, S+L, 3]
  const imgSideIds = g.concat([imgIds, refIds], 1, 'img_side_ids'); // [B, N+R, 3]
  const pe = jointRope(g, txtSideIds, imgSideIds, c);

  // Token counts of the two streams [S+L, N+R], computed once: each double block splits its joint attention by them.
  const txtLen = g.shape(txtTokens, { start: 1, end: 2, name: 'txt_len' }); // [1]
  const streamSizes = g.concat([txtLen, g.shape(imgTokens, { start: 1, end: 2, name: 'img_len' })], 0, 'stream_sizes'); // [2]
  let t = txtTokens;
  let m = imgTokens;
  for (let i = 0; i < c.doubleBlocks; i++) [t, m] = doubleBlock(g, i, t, m, vec, pe, streamSizes, c);
  let x = g.concat([t, m], 1, 'single_stream'); // [B, S+L+N+R, C]
  for (let i = 0; i < c.singleBlocks; i++) x = singleBlock(g, i, x, vec, pe, c);

  // Keep the first N image tokens (the target), then the final layer.
  const targetEnd = g.add(txtLen, g.shape(img, { start: 1, end: 2, name: 'target_len' }), 'target_end'); // [1]
  const target = g.op('Slice', [x, txtLen, targetEnd, g.constInt64([1])], { name: 'target_tokens' }); // [B, N, C]
  const adaLn = linear(g, g.silu(vec, 'final_layer.adaLN_modulation.0'), 'final_layer.adaLN_modulation.1'); // [B, 2C]
  const [shift, scale] = g.split(g.unsqueeze(adaLn, [1], 'final_layer.mod'), [c.hidden, c.hidden], -1, 'final_layer.shift_scale'); // [B, 1, C] x 2
  const finalNormed = modulate(g, plainNorm(g, target, 'final_layer.norm_final', c.hidden), { shift: shift!, scale: scale!, gate: shift! }, 'final_layer.modulated');
  const velocity = linear(g, finalNormed, 'final_layer.linear'); // [B, N, 64]
  g.output(velocity, 'velocity', 'float32', ['B', 'N', c.inChannels]);
  return g;
}

export const fluxDit: Architecture<FluxDitConfig> = {
  id: FLUX_DIT_ID,
  version: 5,
  role: 'dit',
  // Accelerators get float16 products (onnx/mixed-precision.ts); norms and the rest stay float32.
  computeDtypes: ['float32', 'float16'],
  // ComfyUI single-file checkpoints (flux1-dev-fp8) and some diffusion_models files keep the model under a prefix.
  keyPrefixes: ['model.diffusion_model.', 'diffusion_model.', ''],
  // Diffusers `transformer/` folders: renamed and composed onto BFL names without copying (flux-dit-names.ts).
  keyLayouts: [fluxDiffusersLayout],
  detect: detectFluxDit,
  inferConfig: inferFluxDitConfig,
  requiredWeights: fluxRequiredWeights,
  ignoredWeights: (_config, names) => fluxIgnoredWeights(names),
  lookalike: fluxLookalike,
  activationBytes: fluxActivationBytes,
  // Named token dims let onnxruntime's planner reuse buffers block to block; without them session creation grows
  // with the square of the depth (onnx/symbolic-shapes.ts).
  build: (c, weights) => {
    const built = buildFluxDit(c, weights).build();
    return { ...built, bytes: withSymbolicShapes(built.bytes) };
  },
};
