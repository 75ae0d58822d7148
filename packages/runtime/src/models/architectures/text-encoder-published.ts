/**
 * The published T5-XXL and CLIP-L text encoder layouts as header specs (names, shapes, dtypes) for synthesised
 * sparse files, one per file a user has:
 * - `t5xxl_fp16.safetensors` (ComfyUI): the encoder in F16 with both `shared.weight` and its duplicate
 *   `encoder.embed_tokens.weight` (9.79 GB: 4.76 G parameters + the 131.6 M-entry duplicate).
 * - `t5xxl_fp8_e4m3fn.safetensors`: every matrix (embeddings included) in F8_E4M3, norms and the bias table F16
 *   (4.89 GB).
 * - `t5xxl_fp8_e4m3fn_scaled.safetensors`: the Linear weights in F8_E4M3 with a float32 `scale_weight` scalar each,
 *   a `scaled_fp8` marker, the rest F16.
 * - `text_encoder_2/` of a diffusers FLUX.1 folder: BF16, split over shards (`model-0000N-of-00002.safetensors`).
 * - `clip_l.safetensors` (ComfyUI): the text model in F16 plus `text_projection.weight`.
 * - `text_encoder/model.safetensors` (diffusers): CLIPTextModel in F16, without the projection (older exports keep
 *   the `position_ids` buffer, included here).
 * - ComfyUI's single-file checkpoints hold both under `text_encoders.t5xxl.transformer.` / `.clip_l.transformer.`.
 * Used by the full-size tests and bench/text-encoders.bench.ts.
 */

import type { SafetensorsDType } from '../../safetensors/dtypes.ts';
import type { SparseTensorSpec } from '../../safetensors/sparse.ts';

export const T5_XXL_SIZES = { vocab: 32128, width: 4096, heads: 64, headDim: 64, ff: 10240, depth: 24, buckets: 32 } as const;
export const CLIP_L_SIZES = { vocab: 49408, width: 768, heads: 12, mlp: 3072, depth: 12, positions: 77 } as const;

type Layout = Record<string, SparseTensorSpec>;

/**
 * The T5-XXL encoder: `matrix` for the Linear weights, `embedding` for shared (and embed_tokens when `duplicate`),
 * `other` for norms and the bias table; `scaled` adds ComfyUI's per-Linear `scale_weight` and the `scaled_fp8` marker.
 * `depth` below 24 gives the first layers only (the benchmark).
 */
export function t5XxlLayout(options: {
  matrix: SafetensorsDType;
  embedding: SafetensorsDType;
  other: SafetensorsDType;
  duplicate?: boolean;
  scaled?: boolean;
  depth?: number;
}): Layout {
  const { vocab, width, heads, ff, buckets } = T5_XXL_SIZES;
  const out: Layout = { 'shared.weight': { dtype: options.embedding, shape: [vocab, width] } };
  if (options.duplicate) out['encoder.embed_tokens.weight'] = { dtype: options.embedding, shape: [vocab, width] };
  const linear = (key: string, shape: number[]) => {
    out[`${key}.weight`] = { dtype: options.matrix, shape };
    if (options.scaled) out[`${key}.scale_weight`] = { dtype: 'F32', shape: [] };
  };
  for (let i = 0; i < (options.depth ?? T5_XXL_SIZES.depth); i++) {
    const b = `encoder.block.${i}.layer`;
    for (const p of ['q', 'k', 'v', 'o']) linear(`${b}.0.SelfAttention.${p}`, [width, width]);
    if (i === 0) out[`${b}.0.SelfAttention.relative_attention_bias.weight`] = { dtype: options.other, shape: [buckets, heads] };
    out[`${b}.0.layer_norm.weight`] = { dtype: options.other, shape: [width] };
    linear(`${b}.1.DenseReluDense.wi_0`, [ff, width]);
    linear(`${b}.1.DenseReluDense.wi_1`, [ff, width]);
    linear(`${b}.1.DenseReluDense.wo`, [width, ff]);
    out[`${b}.1.layer_norm.weight`] = { dtype: options.other, shape: [width] };
  }
  out['encoder.final_layer_norm.weight'] = { dtype: options.other, shape: [width] };
  if (options.scaled) out.scaled_fp8 = { dtype: 'F8_E4M3', shape: [0] };
  return out;
}

/** The CLIP-L text model, with ComfyUI's `text_projection` and/or the `position_ids` buffer. */
export function clipLLayout(options: { dtype: SafetensorsDType; projection?: boolean; positionIds?: boolean }): Layout {
  const { vocab, width: w, mlp, depth, positions } = CLIP_L_SIZES;
  const dtype = options.dtype;
  const out: Layout = {
    'text_model.embeddings.token_embedding.weight': { dtype, shape: [vocab, w] },
    'text_model.embeddings.position_embedding.weight': { dtype, shape: [positions, w] },
  };
  if (options.positionIds) out['text_model.embeddings.position_ids'] = { dtype: 'I64', shape: [1, positions] };
  for (let i = 0; i < depth; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      out[`${p}.self_attn.${n}.weight`] = { dtype, shape: [w, w] };
      out[`${p}.self_attn.${n}.bias`] = { dtype, shape: [w] };
    }
    for (const n of ['layer_norm1', 'layer_norm2']) {
      out[`${p}.${n}.weight`] = { dtype, shape: [w] };
      out[`${p}.${n}.bias`] = { dtype, shape: [w] };
    }
    out[`${p}.mlp.fc1.weight`] = { dtype, shape: [mlp, w] };
    out[`${p}.mlp.fc1.bias`] = { dtype, shape: [mlp] };
    out[`${p}.mlp.fc2.weight`] = { dtype, shape: [w, mlp] };
    out[`${p}.mlp.fc2.bias`] = { dtype, shape: [w] };
  }
  out['text_model.final_layer_norm.weight'] = { dtype, shape: [w] };
  out['text_model.final_layer_norm.bias'] = { dtype, shape: [w] };
  if (options.projection) out['text_projection.weight'] = { dtype, shape: [w, w] };
  return out;
}

/** The same layout under a key prefix (a part of ComfyUI's single-file checkpoint). */
export function prefixed(prefix: string, layout: Layout): Layout {
  return Object.fromEntries(Object.entries(layout).map(([k, v]) => [prefix + k, v]));
}

/** The named file layouts of the table in the issue, for tests and the benchmark. */
export const T5_FILES = {
  't5xxl_fp16.safetensors': () => t5XxlLayout({ matrix: 'F16', embedding: 'F16', other: 'F16', duplicate: true }),
  't5xxl_fp8_e4m3fn.safetensors': () => t5XxlLayout({ matrix: 'F8_E4M3', embedding: 'F8_E4M3', other: 'F16', duplicate: true }),
  't5xxl_fp8_e4m3fn_scaled.safetensors': () => t5XxlLayout({ matrix: 'F8_E4M3', embedding: 'F16', other: 'F16', scaled: true }),
  'flux1-dev-fp8.safetensors (t5xxl part)': () => ({
    ...prefixed('text_encoders.t5xxl.transformer.', t5XxlLayout({ matrix: 'F8_E4M3', embedding: 'F8_E4M3', other: 'F16' })),
    ...prefixed('text_encoders.clip_l.transformer.', clipLLayout({ dtype: 'F16', projection: true })),
  }),
} as const;

export const CLIP_FILES = {
  'clip_l.safetensors': () => clipLLayout({ dtype: 'F16', projection: true }),
  'text_encoder/model.safetensors': () => clipLLayout({ dtype: 'F16', positionIds: true }),
  'flux1-dev-fp8.safetensors (clip_l part)': () => ({
    ...prefixed('text_encoders.clip_l.transformer.', clipLLayout({ dtype: 'F16', projection: true })),
    ...prefixed('text_encoders.t5xxl.transformer.', t5XxlLayout({ matrix: 'F8_E4M3', embedding: 'F8_E4M3', other: 'F16', depth: 1 })),
  }),
} as const;
