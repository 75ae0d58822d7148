/**
 * The published SigLIP so400m patch14-384 layouts, as header specs (names, shapes, dtypes) for synthesised sparse
 * files: ComfyUI's `clip_vision/sigclip_vision_patch14_384.safetensors` (the vision tower with its attention-pooling
 * head, F16) and Hugging Face's `google/siglip-so400m-patch14-384` `model.safetensors` (the whole SiglipModel in
 * F32: vision tower, head, text tower, logit scale and bias). Used by the full-size tests and the benchmark.
 */

import type { SafetensorsDType } from '../../safetensors/dtypes.ts';
import type { SparseTensorSpec } from '../../safetensors/sparse.ts';

export const SO400M = { width: 1152, intermediate: 4304, layers: 27, heads: 16, patch: 14, imageSize: 384, tokens: 729 } as const;

function tower(prefix: string, dtype: SafetensorsDType, layers: number, out: Record<string, SparseTensorSpec>): void {
  const { width: w, intermediate: m } = SO400M;
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) {
      out[`${p}.${n}.weight`] = { dtype, shape: [w] };
      out[`${p}.${n}.bias`] = { dtype, shape: [w] };
    }
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      out[`${p}.self_attn.${n}.weight`] = { dtype, shape: [w, w] };
      out[`${p}.self_attn.${n}.bias`] = { dtype, shape: [w] };
    }
    out[`${p}.mlp.fc1.weight`] = { dtype, shape: [m, w] };
    out[`${p}.mlp.fc1.bias`] = { dtype, shape: [m] };
    out[`${p}.mlp.fc2.weight`] = { dtype, shape: [w, m] };
    out[`${p}.mlp.fc2.bias`] = { dtype, shape: [w] };
  }
}

/**
 * The vision tower (27 layers unless `layers` says fewer) and its head, `vision_model.*`.
 * so400m: 428.2 M parameters (413.0 M without the head).
 */
export function siglipVisionLayout(dtype: SafetensorsDType, layers: number = SO400M.layers): Record<string, SparseTensorSpec> {
  const { width: w, intermediate: m, patch, tokens } = SO400M;
  const out: Record<string, SparseTensorSpec> = {
    'vision_model.embeddings.patch_embedding.weight': { dtype, shape: [w, 3, patch, patch] },
    'vision_model.embeddings.patch_embedding.bias': { dtype, shape: [w] },
    'vision_model.embeddings.position_embedding.weight': { dtype, shape: [tokens, w] },
  };
  tower('vision_model.', dtype, layers, out);
  Object.assign(out, {
    'vision_model.post_layernorm.weight': { dtype, shape: [w] },
    'vision_model.post_layernorm.bias': { dtype, shape: [w] },
    'vision_model.head.probe': { dtype, shape: [1, 1, w] },
    'vision_model.head.attention.in_proj_weight': { dtype, shape: [3 * w, w] },
    'vision_model.head.attention.in_proj_bias': { dtype, shape: [3 * w] },
    'vision_model.head.attention.out_proj.weight': { dtype, shape: [w, w] },
    'vision_model.head.attention.out_proj.bias': { dtype, shape: [w] },
    'vision_model.head.layernorm.weight': { dtype, shape: [w] },
    'vision_model.head.layernorm.bias': { dtype, shape: [w] },
    'vision_model.head.mlp.fc1.weight': { dtype, shape: [m, w] },
    'vision_model.head.mlp.fc1.bias': { dtype, shape: [m] },
    'vision_model.head.mlp.fc2.weight': { dtype, shape: [w, m] },
    'vision_model.head.mlp.fc2.bias': { dtype, shape: [w] },
  });
  return out;
}

/** ComfyUI's sigclip_vision_patch14_384.safetensors: the vision tower and head in F16. */
export function comfyuiSigclipLayout(): Record<string, SparseTensorSpec> {
  return siglipVisionLayout('F16');
}

/** Hugging Face's siglip-so400m-patch14-384 model.safetensors: the whole SiglipModel in F32. */
export function huggingFaceSiglipLayout(): Record<string, SparseTensorSpec> {
  const w = SO400M.width;
  const dtype = 'F32';
  const out: Record<string, SparseTensorSpec> = {
    logit_bias: { dtype, shape: [1] },
    logit_scale: { dtype, shape: [1] },
    'text_model.embeddings.token_embedding.weight': { dtype, shape: [32000, w] },
    'text_model.embeddings.position_embedding.weight': { dtype, shape: [64, w] },
  };
  tower('text_model.', dtype, SO400M.layers, out);
  Object.assign(out, {
    'text_model.final_layer_norm.weight': { dtype, shape: [w] },
    'text_model.final_layer_norm.bias': { dtype, shape: [w] },
    'text_model.head.weight': { dtype, shape: [w, w] },
    'text_model.head.bias': { dtype, shape: [w] },
  });
  return { ...out, ...siglipVisionLayout(dtype) };
}

/** A CLIP ViT-L/14 vision tower (HF CLIPVisionModel names), the lookalike SigLIP detection must refuse. */
export function clipVitLVisionLayout(): Record<string, SparseTensorSpec> {
  const dtype = 'F16';
  const w = 1024;
  const out: Record<string, SparseTensorSpec> = {
    'vision_model.embeddings.class_embedding': { dtype, shape: [w] },
    'vision_model.embeddings.patch_embedding.weight': { dtype, shape: [w, 3, 14, 14] },
    'vision_model.embeddings.position_embedding.weight': { dtype, shape: [257, w] },
    'vision_model.pre_layrnorm.weight': { dtype, shape: [w] },
    'vision_model.pre_layrnorm.bias': { dtype, shape: [w] },
    'vision_model.post_layernorm.weight': { dtype, shape: [w] },
    'vision_model.post_layernorm.bias': { dtype, shape: [w] },
  };
  for (let i = 0; i < 24; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      out[`${p}.self_attn.${n}.weight`] = { dtype, shape: [w, w] };
      out[`${p}.self_attn.${n}.bias`] = { dtype, shape: [w] };
    }
  }
  return out;
}
