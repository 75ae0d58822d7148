/**
 * SigLIP vision tower (`siglip-vision`, role vision_encoder), as Hugging Face's SiglipVisionTransformer and ComfyUI's
 * CLIPVision with model_type siglip_vision_model describe it. so400m patch14-384: width 1152, 27 layers, 16 heads of
 * 72, MLP 4304, patch 14, 27x27 = 729 tokens.
 *
 * pixel_values [B, 3, S, S] -> patch Conv (kernel = stride = patch, with bias) [B, W, g, g] -> tokens [B, T, W]
 * + learned position embeddings [T, W] (no class token, no pre-layernorm) -> L pre-norm layers:
 *   x += out_proj(attention(q_proj, k_proj, v_proj of LN1(x)))   (LayerNorm eps 1e-6, scale 1/sqrt(head width))
 *   x += fc2(gelu_tanh(fc1(LN2(x))))
 * -> post_layernorm -> last_hidden_state.
 *
 * Hidden states: `hidden_states` stacks the outputs of the selected layers (before the post-layernorm) in the order
 * USO's projector reads them: after layers L-19, L-10 and L-1 (1-based; so400m: 8, 17, 26), which are ComfyUI's
 * all_hidden_states[:, -20], [:, -11] and penultimate_hidden_states. `penultimate_hidden_states` is that last one
 * alone. ComfyUI has no SigLIP projection, so its image_embeds equal last_hidden_state; the attention-pooling head
 * (`vision_model.head.*`) is deliberately ignored, as ComfyUI does.
 *
 * The image size is not fixed: it is sqrt(position rows) x patch, so a toy config runs at its own size (so400m is the
 * published exception: 27 x 14 = 378, fed 384 pixels whose last 6 rows and columns the patch conv drops). Head count cannot be read from shapes: published widths map to their head counts, other widths use a
 * `num_attention_heads` metadata entry or else heads of 64.
 */

import { GraphBuilder, type Value } from '../../onnx/graph-builder.ts';
import { attention, conv2d, layerNorm, linear, mlp } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { Architecture } from '../architecture.ts';
import { countIndexed } from '../architecture.ts';
import { requireShape, shapeOf } from './demo-common.ts';

export interface SiglipVisionConfig {
  /** Pixels per side (so400m: 384). */
  readonly imageSize: number;
  readonly patch: number;
  readonly channels: number;
  /** Hidden width (so400m: 1152). */
  readonly width: number;
  readonly heads: number;
  /** MLP width (so400m: 4304). */
  readonly intermediate: number;
  readonly layers: number;
  /** Tokens per image: (imageSize / patch)^2 (so400m: 729). */
  readonly tokens: number;
  /** LayerNorm epsilon (1e-6 in every published SigLIP). */
  readonly eps: number;
  /** 0-based indices into the per-layer outputs, in the contract's order (so400m: [7, 16, 25]). */
  readonly selectedLayers: readonly number[];
}

const EMB = 'vision_model.embeddings';
const LAYERS = 'vision_model.encoder.layers.';
const PATCH_KEY = `${EMB}.patch_embedding.weight`;
const POSITION_KEY = `${EMB}.position_embedding.weight`;
const POST_NORM = 'vision_model.post_layernorm';

/** Head counts of the published SigLIP vision widths (head width 64 for base/large, 72 for so400m). */
const HEADS_BY_WIDTH: ReadonlyMap<number, number> = new Map([
  [768, 12],
  [1024, 16],
  [1152, 16],
]);

/**
 * Published image sizes that are not a whole number of patches (the patch conv drops the remainder): so400m
 * patch14-384 has 27x27 patches of 14 = 378 pixels but is fed 384. Keyed by `patch:grid`.
 */
const PUBLISHED_SIZES: ReadonlyMap<string, number> = new Map([['14:27', 384]]);

/** Metadata key a file may use to state its head count (toy configs whose width is not a published one). */
export const SIGLIP_HEADS_METADATA_KEY = 'num_attention_heads';

/**
 * The per-layer outputs USO's projector reads, 0-based, in contract order: ComfyUI's all_hidden_states[-20], [-11]
 * and [-2]. Toy configs with fewer than 20 layers clamp to the first layer.
 */
export function siglipSelectedLayers(layers: number): number[] {
  return [20, 11, 2].map((fromEnd) => Math.max(0, layers - fromEnd));
}

const LAYER_WEIGHTS = [
  'layer_norm1.weight', 'layer_norm1.bias',
  'self_attn.q_proj.weight', 'self_attn.q_proj.bias',
  'self_attn.k_proj.weight', 'self_attn.k_proj.bias',
  'self_attn.v_proj.weight', 'self_attn.v_proj.bias',
  'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
  'layer_norm2.weight', 'layer_norm2.bias',
  'mlp.fc1.weight', 'mlp.fc1.bias',
  'mlp.fc2.weight', 'mlp.fc2.bias',
] as const;

function inferSiglip(h: SafetensorsHeader): SiglipVisionConfig {
  const [width, channels, kh, kw] = requireShape(h, PATCH_KEY, 4) as [number, number, number, number];
  const [tokens, posWidth] = requireShape(h, POSITION_KEY, 2) as [number, number];
  const grid = Math.round(Math.sqrt(tokens));
  if (kh !== kw) throw new Error(`${h.path}: ${PATCH_KEY} has a non-square kernel ${kh}x${kw}`);
  if (grid * grid !== tokens) throw new Error(`${h.path}: ${POSITION_KEY} has ${tokens} rows, not a square grid of patches`);
  if (posWidth !== width) throw new Error(`${h.path}: ${POSITION_KEY} width ${posWidth} differs from the patch embedding's ${width}`);
  const layers = countIndexed(h, LAYERS);
  if (layers === 0) throw new Error(`${h.path}: no ${LAYERS}N.* weights`);
  const [intermediate] = requireShape(h, `${LAYERS}0.mlp.fc1.weight`, 2) as [number, number];
  const stated = Number(h.metadata[SIGLIP_HEADS_METADATA_KEY]);
  const heads = HEADS_BY_WIDTH.get(width) ?? (Number.isInteger(stated) && stated > 0 ? stated : width / 64);
  if (!Number.isInteger(heads) || width % heads !== 0) {
    throw new Error(
      `${h.path}: cannot tell the head count of a SigLIP tower of width ${width}; add a '${SIGLIP_HEADS_METADATA_KEY}' metadata entry`,
    );
  }
  return {
    imageSize: PUBLISHED_SIZES.get(`${kh}:${grid}`) ?? grid * kh,
    patch: kh,
    channels,
    width,
    heads,
    intermediate,
    layers,
    tokens,
    eps: 1e-6,
    selectedLayers: siglipSelectedLayers(layers),
  };
}

/** True for a SigLIP vision tower: patch and position embeddings, attention layers, post-layernorm, no class token. */
function detectSiglip(h: SafetensorsHeader): boolean {
  return (
    shapeOf(h, PATCH_KEY)?.length === 4 &&
    shapeOf(h, POSITION_KEY)?.length === 2 &&
    h.tensors.has(`${LAYERS}0.self_attn.q_proj.weight`) &&
    h.tensors.has(`${POST_NORM}.weight`) &&
    !h.tensors.has(`${EMB}.class_embedding`) &&
    !h.tensors.has('vision_model.pre_layrnorm.weight')
  );
}

const EXPECTED =
  'expected a SigLIP vision tower (vision_model.* with patch and position embeddings, no class token, no pre_layrnorm, ' +
  'a post_layernorm; e.g. sigclip_vision_patch14_384.safetensors or siglip-so400m-patch14-384 model.safetensors)';

/** Says what a CLIP-style vision file that is not SigLIP looks like, for the loader's refusal message. */
function siglipLookalike(h: SafetensorsHeader): string | undefined {
  const hasClassToken = h.tensors.has(`${EMB}.class_embedding`) || h.tensors.has('vision_model.pre_layrnorm.weight');
  if (hasClassToken) {
    const width = shapeOf(h, PATCH_KEY)?.[0];
    const patch = shapeOf(h, PATCH_KEY)?.[2];
    const layers = countIndexed(h, LAYERS);
    const name = width === 768 ? 'ViT-B' : width === 1024 ? 'ViT-L' : width === 1280 ? 'ViT-H' : width === 1664 ? 'ViT-bigG' : 'ViT';
    return (
      `it looks like a CLIP ${name}${patch ? `/${patch}` : ''} vision tower (class_embedding / pre_layrnorm present; ` +
      `width ${width ?? '?'}, ${layers} layers); ${EXPECTED}`
    );
  }
  for (const key of h.tensors.keys()) {
    if (key.startsWith('visual.transformer.resblocks.')) return `it looks like an OpenAI CLIP visual tower (visual.transformer.*); ${EXPECTED}`;
  }
  return undefined;
}

/** Names a SigLIP file holds that this graph deliberately does not read. */
function ignoredSiglip(names: Iterable<string>): string[] {
  const ignored: string[] = [];
  for (const name of names) {
    if (
      name.startsWith('text_model.') || // the HF SiglipModel's text tower
      name === 'logit_scale' ||
      name === 'logit_bias' ||
      name.startsWith('vision_model.head.') || // attention-pooling head: ComfyUI does not run it either
      name.endsWith('.position_ids') ||
      name.endsWith('.scale_weight') || // scaled-fp8 bookkeeping, applied by the weight loader
      name.endsWith('.scale_input') ||
      name === 'scaled_fp8'
    ) {
      ignored.push(name);
    }
  }
  return ignored;
}

function requiredSiglip(c: SiglipVisionConfig): string[] {
  const keys = [PATCH_KEY, `${EMB}.patch_embedding.bias`, POSITION_KEY];
  for (let i = 0; i < c.layers; i++) for (const w of LAYER_WEIGHTS) keys.push(`${LAYERS}${i}.${w}`);
  keys.push(`${POST_NORM}.weight`, `${POST_NORM}.bias`);
  return keys;
}

/** One pre-norm encoder layer. x [B, T, W] -> [B, T, W]. */
function encoderLayer(g: GraphBuilder, x: Value, c: SiglipVisionConfig, i: number): Value {
  const p = `${LAYERS}${i}`;
  const headDim = c.width / c.heads;
  const heads = (v: Value, name: string) =>
    g.transpose(g.reshape(v, [0, 0, c.heads, headDim], `${name}.split`), [0, 2, 1, 3], `${name}.heads`); // [B, H, T, D]
  const h1 = layerNorm(g, x, `${p}.layer_norm1`, { dim: c.width, eps: c.eps, affine: true }); // [B, T, W]
  const q = heads(linear(g, h1, `${p}.self_attn.q_proj`), `${p}.self_attn.q`); // [B, H, T, D]
  const k = heads(linear(g, h1, `${p}.self_attn.k_proj`), `${p}.self_attn.k`); // [B, H, T, D]
  const v = heads(linear(g, h1, `${p}.self_attn.v_proj`), `${p}.self_attn.v`); // [B, H, T, D]
  const attended = attention(g, q, k, v, `${p}.self_attn.attn`, { headDim }); // [B, T, W]
  const afterAttn = g.add(x, linear(g, attended, `${p}.self_attn.out_proj`), `${p}.attn_residual`); // [B, T, W]
  const h2 = layerNorm(g, afterAttn, `${p}.layer_norm2`, { dim: c.width, eps: c.eps, affine: true }); // [B, T, W]
  return g.add(afterAttn, mlp(g, h2, `${p}.mlp.fc1`, `${p}.mlp.fc2`, 'gelu-tanh'), p); // [B, T, W]
}

/** Builds the SigLIP vision graph for a config (also used by the benchmark with a reduced depth). */
export function buildSiglipVision(c: SiglipVisionConfig, g: GraphBuilder): void {
  const px = g.input('pixel_values', 'float32', ['B', c.channels, c.imageSize, c.imageSize]); // [B, 3, S, S]
  const patches = conv2d(g, px, `${EMB}.patch_embedding`, { stride: c.patch }); // [B, W, g, g]
  const flat = g.reshape(patches, [0, c.width, c.tokens], `${EMB}.flatten`); // [B, W, T]
  const seq = g.transpose(flat, [0, 2, 1], `${EMB}.tokens`); // [B, T, W]
  let x = g.add(seq, g.weight(POSITION_KEY), `${EMB}.positioned`); // [B, T, W]
  const perLayer: Value[] = [];
  for (let i = 0; i < c.layers; i++) {
    x = encoderLayer(g, x, c, i);
    perLayer.push(x);
  }
  const last = layerNorm(g, x, POST_NORM, { dim: c.width, eps: c.eps, affine: true }); // [B, T, W]
  const picked = c.selectedLayers.map((i, k) => g.unsqueeze(perLayer[i]!, [1], `vision_model.selected.${k}`)); // K x [B, 1, T, W]
  const stacked = g.concat(picked, 1, 'vision_model.selected'); // [B, K, T, W]
  const penultimate = perLayer[Math.max(0, c.layers - 2)]!; // [B, T, W]
  g.output(last, 'last_hidden_state', 'float32', ['B', c.tokens, c.width]);
  g.output(stacked, 'hidden_states', 'float32', ['B', c.selectedLayers.length, c.tokens, c.width]);
  g.output(penultimate, 'penultimate_hidden_states', 'float32', ['B', c.tokens, c.width]);
}

export const siglipVision: Architecture<SiglipVisionConfig> = {
  id: 'siglip-vision',
  version: 1,
  role: 'vision_encoder',
  // Accelerators get float16 products (onnx/mixed-precision.ts); norms and the rest stay float32.
  computeDtypes: ['float32', 'float16'],
  keyPrefixes: [''],
  detect: detectSiglip,
  lookalike: siglipLookalike,
  inferConfig: inferSiglip,
  requiredWeights: requiredSiglip,
  ignoredWeights: (_c, names) => ignoredSiglip(names),
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'siglip_vision', weights, metadata: { architecture: 'siglip-vision' } });
    buildSiglipVision(c, g);
    return g.build();
  },
};
