/**
 * The CLIP text transformer (FLUX's pooled text vector: openai/clip-vit-large-patch14's text model, 12 layers, width
 * 768, 12 heads of 64, MLP 3072, 77 positions, 49408 tokens), from Hugging Face's CLIP names as ComfyUI's
 * `clip_l.safetensors`, the `text_encoders.clip_l.transformer.` part of a combined checkpoint and a diffusers
 * `text_encoder/model.safetensors` store them (with or without `text_projection` and `position_ids`).
 *
 * The published architecture, as built here:
 * - x = token_embedding[input_ids] + position_embedding[0..L-1].
 * - Each layer (pre-norm): x += out_proj(attn(layer_norm1(x))) with a causal mask and 1/sqrt(64) scaling;
 *   x += fc2(quick_gelu(fc1(layer_norm2(x)))), quick_gelu(x) = x * sigmoid(1.702 x). LayerNorm eps 1e-5.
 * - pooled = final_layer_norm(x) at argmax(input_ids): the first end-of-text token (49407 is the largest id; the
 *   padding is end-of-text too). The final norm is per token, so it is applied to the pooled token only.
 * - `text_projection` is not applied: FLUX takes the pooler output of CLIPTextModel, before any projection.
 */

import { attr, GraphBuilder, type BuildResult, type Value } from '../../onnx/graph-builder.ts';
import { activation, attention, layerNorm, linear } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { countIndexed, type Architecture } from '../architecture.ts';
import { embedTokens, foreignModelKind, isScaledFp8Companion, positions, refuseLookalike, shapeIn } from './text-encoder-common.ts';

export interface ClipTextConfig {
  readonly vocab: number;
  readonly width: number;
  readonly heads: number;
  readonly mlp: number;
  readonly depth: number;
  /** Rows of the position embedding (77 for every published CLIP). */
  readonly positions: number;
  readonly eps: number;
}

export const CLIP_L = { name: 'CLIP-L text (clip-vit-large-patch14)', width: 768, depth: 12 } as const;

/** Every published CLIP text tower uses heads of 64. */
const HEAD_DIM = 64;

const TOKEN_KEY = 'text_model.embeddings.token_embedding.weight';
const POSITION_KEY = 'text_model.embeddings.position_embedding.weight';
const LAYER = (i: number) => `text_model.encoder.layers.${i}`;
const FINAL_NORM = 'text_model.final_layer_norm';

const CLIP_LOOKALIKES = [
  { name: 'CLIP-B text (clip-vit-base)', width: 512, depth: 12 },
  { name: 'OpenCLIP ViT-H text (SD 2.x)', width: 1024, depth: 24 },
  { name: 'OpenCLIP ViT-bigG text (SDXL / SD3 clip_g)', width: 1280, depth: 32 },
] as const;

function detectClip(h: SafetensorsHeader): boolean {
  return h.tensors.has(TOKEN_KEY) && h.tensors.has(`${LAYER(0)}.self_attn.q_proj.weight`);
}

function inferClip(h: SafetensorsHeader): ClipTextConfig {
  const [vocab, width] = shapeIn(h, TOKEN_KEY, 2) as [number, number];
  const depth = countIndexed(h, 'text_model.encoder.layers.');
  refuseLookalike(h, { width, depth, what: `CLIP text model, width ${width}, ${depth} layers` }, CLIP_L, CLIP_LOOKALIKES);
  if (width % HEAD_DIM !== 0) throw new Error(`${h.path}: width ${width} is not a multiple of the head width ${HEAD_DIM}`);
  const [mlp] = shapeIn(h, `${LAYER(0)}.mlp.fc1.weight`, 2) as [number];
  const [rows] = shapeIn(h, POSITION_KEY, 2) as [number];
  return { vocab, width, heads: width / HEAD_DIM, mlp, depth, positions: rows, eps: 1e-5 };
}

function clipRequired(c: ClipTextConfig): string[] {
  const keys = [TOKEN_KEY, POSITION_KEY, `${FINAL_NORM}.weight`, `${FINAL_NORM}.bias`];
  for (let i = 0; i < c.depth; i++) {
    for (const p of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'layer_norm1', 'layer_norm2', 'mlp.fc1', 'mlp.fc2']) {
      keys.push(`${LAYER(i)}.${p}.weight`, `${LAYER(i)}.${p}.bias`);
    }
  }
  return keys;
}

/**
 * Tensors deliberately not read: the projection (FLUX uses the unprojected pooled state), the position_ids buffer,
 * and when the file is a whole CLIP model its vision tower, visual projection and logit scale; scaled-fp8 companions.
 */
function clipIgnored(_c: ClipTextConfig, names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (
      n === 'text_projection.weight' ||
      n === 'text_model.embeddings.position_ids' ||
      n === 'logit_scale' ||
      n === 'visual_projection.weight' ||
      n.startsWith('vision_model.') ||
      isScaledFp8Companion(n)
    ) {
      out.push(n);
    }
  }
  return out;
}

/** Additive causal mask [L, L]: 0 where key <= query, float32's lowest value where the key comes later. */
function causalMask(g: GraphBuilder, ids: Value): Value {
  const name = 'text_model.causal_mask';
  const pos = positions(g, ids, `${name}.positions`); // [L]
  const later = g.op('Greater', [g.unsqueeze(pos, [0], `${name}.keys`), g.unsqueeze(pos, [1], `${name}.queries`)], {
    name: `${name}.later`,
  }); // [L, L] bool
  return g.where(later, g.scalar(-3.4028234663852886e38), g.scalar(0), name); // [L, L]
}

function heads(g: GraphBuilder, x: Value, c: ClipTextConfig, name: string): Value {
  const split = g.reshape(x, [0, 0, c.heads, HEAD_DIM], `${name}.heads`); // [B, L, H, D]
  return g.transpose(split, [0, 2, 1, 3], `${name}.bhld`); // [B, H, L, D]
}

function layer(g: GraphBuilder, x: Value, i: number, mask: Value, c: ClipTextConfig): Value {
  const p = LAYER(i);
  const h = layerNorm(g, x, `${p}.layer_norm1`, { dim: c.width, eps: c.eps, affine: true }); // [B, L, C]
  const q = heads(g, linear(g, h, `${p}.self_attn.q_proj`), c, `${p}.self_attn.q_proj`); // [B, H, L, D]
  const k = heads(g, linear(g, h, `${p}.self_attn.k_proj`), c, `${p}.self_attn.k_proj`);
  const v = heads(g, linear(g, h, `${p}.self_attn.v_proj`), c, `${p}.self_attn.v_proj`);
  const mixed = attention(g, q, k, v, `${p}.self_attn.attn`, { headDim: HEAD_DIM, mask }); // [B, L, C]
  x = g.add(x, linear(g, mixed, `${p}.self_attn.out_proj`), `${p}.attn_residual`); // [B, L, C]
  const n = layerNorm(g, x, `${p}.layer_norm2`, { dim: c.width, eps: c.eps, affine: true });
  const act = activation(g, linear(g, n, `${p}.mlp.fc1`), 'quick-gelu', `${p}.mlp.act`); // [B, L, mlp]
  return g.add(x, linear(g, act, `${p}.mlp.fc2`), `${p}.mlp_residual`); // [B, L, C]
}

/** The state at argmax(ids) per batch row: x [B, L, C], ids [B, L] -> [B, C] (a one-hot sum, exact). */
function poolAtArgmax(g: GraphBuilder, x: Value, ids: Value): Value {
  const name = 'text_model.pool';
  const end = g.op('ArgMax', [ids], { name: `${name}.argmax`, attrs: { axis: attr.int(1), keepdims: attr.int(1) } }); // [B, 1]
  const pos = g.unsqueeze(positions(g, ids, `${name}.positions`), [0], `${name}.row`); // [1, L]
  const onehot = g.cast(g.equal(pos, end, `${name}.is_end`), 'float32', `${name}.onehot`); // [B, L]
  const weighted = g.mul(x, g.unsqueeze(onehot, [2], `${name}.onehot3`), `${name}.weighted`); // [B, L, C]
  return g.reduceSum(weighted, [1], false, name); // [B, C]
}

/** Builds the text model: input_ids [B, 77] int64 -> pooled [B, width] float32. */
export function buildClipText(c: ClipTextConfig, weights: WeightSource): BuildResult {
  const g = new GraphBuilder({ name: 'clip_text', weights, metadata: { architecture: 'clip-text' } });
  const ids = g.input('input_ids', 'int64', ['B', 77]); // [B, L]
  const tokens = embedTokens(g, ids, TOKEN_KEY, 'text_model.embeddings.token_embedding'); // [B, L, C]
  const length = g.shape(ids, { start: 1, end: 2, name: 'text_model.embeddings.length' }); // [1]
  const table = g.weight(POSITION_KEY); // [P, C]
  const rows = g.op('Slice', [table, g.constInt64([0]), length, g.constInt64([0])], { name: 'text_model.embeddings.position_rows' }); // [L, C]
  let x = g.add(tokens, rows, 'text_model.embeddings'); // [B, L, C]
  const mask = causalMask(g, ids); // [L, L]
  for (let i = 0; i < c.depth; i++) x = layer(g, x, i, mask, c);
  const pooled = layerNorm(g, poolAtArgmax(g, x, ids), FINAL_NORM, { dim: c.width, eps: c.eps, affine: true }); // [B, C]
  g.output(pooled, 'pooled', 'float32', ['B', c.width]);
  return g.build();
}

export const clipText: Architecture<ClipTextConfig> & {
  ignoredWeights(config: ClipTextConfig, names: Iterable<string>): string[];
} = {
  id: 'clip-text',
  version: 1,
  role: 'clip',
  // Accelerators get float16 products (onnx/mixed-precision.ts); norms and the rest stay float32.
  computeDtypes: ['float32', 'float16'],
  keyPrefixes: ['text_encoders.clip_l.transformer.', ''],
  detect: detectClip,
  inferConfig: inferClip,
  requiredWeights: clipRequired,
  ignoredWeights: clipIgnored,
  lookalike: (h) => {
    const kind = foreignModelKind(h);
    return kind ? `this looks like ${kind}; a clip text encoder here must be ${CLIP_L.name} with Hugging Face names such as 'text_model.encoder.layers.0.self_attn.q_proj.weight'` : undefined;
  },
  build: buildClipText,
};
