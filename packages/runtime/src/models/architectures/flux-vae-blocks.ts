/**
 * The FLUX autoencoder's building blocks (BFL flux/modules/autoencoder.py, written from the published architecture):
 * the res block, the single-head attention block, the downsample with its asymmetric padding, the nearest upsample,
 * and the mid block. Each takes the checkpoint module path as its prefix, so weight keys and node names match BFL's.
 */

import type { GraphBuilder, Value } from '../../onnx/graph-builder.ts';
import { conv2d, groupNorm } from '../../onnx/blocks.ts';
import type { FluxVaeConfig } from './flux-vae-config.ts';

/** GroupNorm then swish, the pre-activation every FLUX VAE conv sees. x [B, C, H, W] -> [B, C, H, W]. */
export function normSwish(g: GraphBuilder, x: Value, prefix: string, c: FluxVaeConfig): Value {
  const normed = groupNorm(g, x, prefix, { groups: c.groups, eps: c.eps });
  return g.silu(normed, `${prefix}.swish`);
}

/**
 * ResnetBlock: x + conv2(swish(norm2(conv1(swish(norm1(x)))))), with a 1x1 `nin_shortcut` on x when the width changes.
 * x [B, in, H, W] -> [B, out, H, W].
 */
export function resBlock(g: GraphBuilder, x: Value, prefix: string, c: FluxVaeConfig): Value {
  let h = conv2d(g, normSwish(g, x, `${prefix}.norm1`, c), `${prefix}.conv1`, { padding: 1 }); // [B, out, H, W]
  h = conv2d(g, normSwish(g, h, `${prefix}.norm2`, c), `${prefix}.conv2`, { padding: 1 }); // [B, out, H, W]
  const skip = g.weights?.has(`${prefix}.nin_shortcut.weight`) ? conv2d(g, x, `${prefix}.nin_shortcut`) : x; // [B, out, H, W]
  return g.add(skip, h, prefix);
}

/**
 * A 1x1 conv whose weight may be stored as BFL's conv [out, in, 1, 1] or as diffusers' linear [out, in] (the
 * diffusers layout renames to_q -> q etc. without touching the bytes); the 2-D form is viewed as 4-D in the graph.
 */
function pointwise(g: GraphBuilder, x: Value, prefix: string): Value {
  const shape = g.weights?.info(`${prefix}.weight`)?.shape ?? [];
  if (shape.length === 4) return conv2d(g, x, prefix);
  const w = g.reshape(g.weight(`${prefix}.weight`), [shape[0]!, shape[1]!, 1, 1], `${prefix}.weight_4d`); // [out, in, 1, 1]
  return g.conv(x, w, g.weight(`${prefix}.bias`), { name: prefix });
}

/**
 * AttnBlock: x + proj_out(attention(q, k, v)) over the H*W positions with one head of width C, scale 1/sqrt(C).
 * x [B, C, H, W] -> [B, C, H, W]. The scores are [B, H*W, H*W]: 64 MiB at 512², 1 GiB at 1024² (see the estimate).
 */
function attnBlock(g: GraphBuilder, x: Value, prefix: string, c: FluxVaeConfig, width: number): Value {
  const h = groupNorm(g, x, `${prefix}.norm`, { groups: c.groups, eps: c.eps }); // [B, C, H, W]
  const flat = (v: Value, name: string) => g.reshape(v, [0, width, -1], `${prefix}.${name}_flat`); // [B, C, HW]
  const q = g.transpose(flat(pointwise(g, h, `${prefix}.q`), 'q'), [0, 2, 1], `${prefix}.q_t`); // [B, HW, C]
  const k = flat(pointwise(g, h, `${prefix}.k`), 'k'); // [B, C, HW]
  const v = g.transpose(flat(pointwise(g, h, `${prefix}.v`), 'v'), [0, 2, 1], `${prefix}.v_t`); // [B, HW, C]
  const scaled = g.mul(q, g.scalar(1 / Math.sqrt(width)), `${prefix}.q_scaled`); // [B, HW, C]
  const scores = g.matMul(scaled, k, `${prefix}.scores`); // [B, HW, HW]
  const probs = g.softmax(scores, -1, `${prefix}.softmax`); // [B, HW, HW]
  const mixed = g.transpose(g.matMul(probs, v, `${prefix}.mix`), [0, 2, 1], `${prefix}.mix_t`); // [B, C, HW]
  const back = g.reshape(mixed, g.shape(x, { name: `${prefix}.in_shape` }), `${prefix}.unflat`); // [B, C, H, W]
  return g.add(x, pointwise(g, back, `${prefix}.proj_out`), prefix);
}

/** Mid block: res block, attention, res block. x [B, C, h, w] -> [B, C, h, w]. */
export function midBlock(g: GraphBuilder, x: Value, prefix: string, c: FluxVaeConfig, width: number): Value {
  const a = resBlock(g, x, `${prefix}.block_1`, c);
  const b = attnBlock(g, a, `${prefix}.attn_1`, c, width);
  return resBlock(g, b, `${prefix}.block_2`, c);
}

/** Downsample: zero-pad right and bottom by one (F.pad (0, 1, 0, 1)), then a 3x3 stride-2 conv. [B, C, H, W] -> [B, C, H/2, W/2]. */
export function downsample(g: GraphBuilder, x: Value, prefix: string): Value {
  return conv2d(g, x, `${prefix}.conv`, { stride: 2, pads: { top: 0, left: 0, bottom: 1, right: 1 } });
}

/** Upsample: nearest x2, then a 3x3 conv. [B, C, H, W] -> [B, C, 2H, 2W]. */
export function upsample(g: GraphBuilder, x: Value, prefix: string): Value {
  const up = g.resize(x, [1, 1, 2, 2], { mode: 'nearest', nearestMode: 'floor', coordinateTransformationMode: 'asymmetric', name: `${prefix}.nearest` });
  return conv2d(g, up, `${prefix}.conv`, { padding: 1 });
}
