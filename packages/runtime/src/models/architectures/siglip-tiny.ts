/**
 * The toy SigLIP + USO projector used by the parity tests and by scripts/make-siglip-fixtures.py: the real key names
 * and the real builder, at toy sizes (width 32, 4 heads, MLP 48, 21 layers so the USO layer selection picks three
 * different layers, patch 4 on a 20x20 image = 25 tokens), random weights seeded by tensor name, stored as F32, F16,
 * BF16 or F8_E4M3. The fixture script writes these files with `node`, so PyTorch reads exactly the bytes the tests
 * load. Not exported from the package.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomCheckpoint, randomWeight, type RandomWeightDType, type RandomWeightSpec } from '../random-weights.ts';
import { writeSafetensors, type SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { SIGLIP_HEADS_METADATA_KEY } from './siglip-vision.ts';

export const TINY_SIGLIP = {
  width: 32,
  heads: 4,
  intermediate: 48,
  layers: 21,
  patch: 4,
  imageSize: 20,
  tokens: 25,
  batch: 2,
  /** Projector: style tokens per branch and DiT width. */
  styleTokens: 4,
  hidden: 24,
} as const;

export type TinyDType = RandomWeightDType;
export const TINY_DTYPES: readonly TinyDType[] = ['F32', 'F16', 'BF16', 'F8_E4M3'];

/** Weight specs of the toy SigLIP vision tower, official names. */
export function tinySiglipSpecs(): Record<string, RandomWeightSpec> {
  const { width: w, intermediate: m, layers, patch, tokens } = TINY_SIGLIP;
  const specs: Record<string, RandomWeightSpec> = {
    'vision_model.embeddings.patch_embedding.weight': { shape: [w, 3, patch, patch], std: 0.15 },
    'vision_model.embeddings.patch_embedding.bias': { shape: [w], std: 0.05 },
    'vision_model.embeddings.position_embedding.weight': { shape: [tokens, w], std: 0.5 },
    'vision_model.post_layernorm.weight': { shape: [w], mean: 1, std: 0.1 },
    'vision_model.post_layernorm.bias': { shape: [w], std: 0.05 },
  };
  for (let i = 0; i < layers; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) {
      specs[`${p}.${n}.weight`] = { shape: [w], mean: 1, std: 0.1 };
      specs[`${p}.${n}.bias`] = { shape: [w], std: 0.05 };
    }
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      specs[`${p}.self_attn.${n}.weight`] = { shape: [w, w], std: 0.18 };
      specs[`${p}.self_attn.${n}.bias`] = { shape: [w], std: 0.05 };
    }
    specs[`${p}.mlp.fc1.weight`] = { shape: [m, w], std: 0.18 };
    specs[`${p}.mlp.fc1.bias`] = { shape: [m], std: 0.05 };
    specs[`${p}.mlp.fc2.weight`] = { shape: [w, m], std: 0.14 };
    specs[`${p}.mlp.fc2.bias`] = { shape: [w], std: 0.05 };
  }
  return specs;
}

/** Tensors a real SigLIP file carries besides the vision tower, which the graph must ignore (HF SiglipModel names). */
function tinySiglipExtras(): Record<string, RandomWeightSpec> {
  const { width: w, intermediate: m } = TINY_SIGLIP;
  return {
    'vision_model.head.probe': { shape: [1, 1, w] },
    'vision_model.head.attention.in_proj_weight': { shape: [3 * w, w] },
    'vision_model.head.attention.in_proj_bias': { shape: [3 * w] },
    'vision_model.head.attention.out_proj.weight': { shape: [w, w] },
    'vision_model.head.attention.out_proj.bias': { shape: [w] },
    'vision_model.head.layernorm.weight': { shape: [w] },
    'vision_model.head.layernorm.bias': { shape: [w] },
    'vision_model.head.mlp.fc1.weight': { shape: [m, w] },
    'vision_model.head.mlp.fc1.bias': { shape: [m] },
    'vision_model.head.mlp.fc2.weight': { shape: [w, m] },
    'vision_model.head.mlp.fc2.bias': { shape: [w] },
    'text_model.embeddings.token_embedding.weight': { shape: [50, w] },
    'text_model.final_layer_norm.weight': { shape: [w] },
    logit_scale: { shape: [1] },
    logit_bias: { shape: [1] },
  };
}

/** Weight specs of the toy USO projector reading the toy SigLIP (files keep the `feature_embedder.` prefix). */
function tinyProjectorSpecs(): Record<string, RandomWeightSpec> {
  const { width: w, tokens, styleTokens, hidden } = TINY_SIGLIP;
  const specs: Record<string, RandomWeightSpec> = {};
  for (const x of ['low', 'mid', 'high']) {
    const p = `feature_embedder.${x}`;
    specs[`${p}_embedding_linear.0.weight`] = { shape: [styleTokens, tokens], std: 0.2 };
    specs[`${p}_embedding_linear.0.bias`] = { shape: [styleTokens], std: 0.05 };
    specs[`${p}_layer_norm.weight`] = { shape: [w], mean: 1, std: 0.1 };
    specs[`${p}_layer_norm.bias`] = { shape: [w], std: 0.05 };
    specs[`${p}_projection.weight`] = { shape: [hidden, w], std: 0.18 };
    specs[`${p}_projection.bias`] = { shape: [hidden], std: 0.05 };
  }
  return specs;
}

/** A random checkpoint in any of the four dtypes, plus the float32 values it really holds (runtime's randomCheckpoint). */
export function tinyCheckpoint(
  specs: Readonly<Record<string, RandomWeightSpec>>,
  dtype: TinyDType,
): { tensors: Record<string, SafetensorsTensorInput>; values: Record<string, Float32Array> } {
  return randomCheckpoint(specs, dtype);
}

/** Pixel values [batch, 3, 20, 20] in about -1..1, seeded. */
export function tinyPixels(): Float32Array {
  const { batch, imageSize } = TINY_SIGLIP;
  return randomWeight('tiny-siglip.pixel_values', [batch, 3, imageSize, imageSize], { std: 0.6 });
}

export interface TinyFiles {
  /** Vision tower files by stored dtype (the F32 one also carries a head, a text tower and logit scale/bias). */
  readonly siglip: Record<TinyDType, string>;
  readonly projector: string;
  /** pixel_values as an F32 safetensors file (the run-graph input format). */
  readonly inputs: string;
}

/** Writes every toy file into `dir`. */
export function writeTinyFiles(dir: string): TinyFiles {
  mkdirSync(dir, { recursive: true });
  const metadata = { [SIGLIP_HEADS_METADATA_KEY]: String(TINY_SIGLIP.heads) };
  const siglip = {} as Record<TinyDType, string>;
  for (const dtype of TINY_DTYPES) {
    const { tensors } = tinyCheckpoint(tinySiglipSpecs(), dtype);
    const extras = dtype === 'F32' ? tinyCheckpoint(tinySiglipExtras(), 'F32').tensors : {};
    siglip[dtype] = join(dir, `siglip-tiny-${dtype}.safetensors`);
    writeSafetensors(siglip[dtype], { ...tensors, ...extras }, metadata);
  }
  const projector = join(dir, 'uso-projector-tiny.safetensors');
  writeSafetensors(projector, tinyCheckpoint(tinyProjectorSpecs(), 'F32').tensors);
  const inputs = join(dir, 'siglip-tiny-inputs.safetensors');
  const { batch, imageSize } = TINY_SIGLIP;
  writeSafetensors(inputs, { pixel_values: { dtype: 'F32', shape: [batch, 3, imageSize, imageSize], data: tinyPixels() } });
  return { siglip, projector, inputs };
}
