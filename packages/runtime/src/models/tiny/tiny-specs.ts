/**
 * The tiny real-architecture model set's configurations and weight shapes: FLUX DiT, FLUX VAE, T5, CLIP-L text,
 * SigLIP and the USO projector with their official key names, at toy widths that fit together (the DiT reads the
 * T5 width as context and the CLIP width as its pooled vector; the projector maps the SigLIP width and token count to
 * the DiT width). The vocabularies are full size, so the shipped T5 and CLIP tokenizers work unchanged.
 */

import { randomCheckpoint, type RandomWeightDType, type RandomWeightSpec } from '../random-weights.ts';
import type { SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { fluxAxesDim, type FluxDitConfig } from '../architectures/flux-dit-config.ts';
import { fluxWeightSpecs } from '../architectures/flux-dit-cases.ts';
import { decoderWeightShapes, encoderWeightShapes, type FluxVaeConfig } from '../architectures/flux-vae-config.ts';

export const TINY_T5 = { vocab: 32128, width: 32, heads: 4, headDim: 8, ff: 64, depth: 2, buckets: 32 } as const;
export const TINY_CLIP = { vocab: 49408, width: 64, mlp: 128, depth: 2, positions: 77 } as const;
/** 21 layers so the USO selection (layers L-19, L-10, L-1) reads three different ones; 56 px in 14 px patches. */
export const TINY_SIGLIP = { width: 32, heads: 4, intermediate: 64, layers: 21, patch: 14, imageSize: 56 } as const;
export const TINY_PROJECTOR = { styleTokens: 4 } as const;

export const TINY_DIT: FluxDitConfig = {
  variant: 'flux-dev', inChannels: 64, hidden: 64, heads: 2, mlpHidden: 128, doubleBlocks: 2, singleBlocks: 2,
  ctx: TINY_T5.width, vec: TINY_CLIP.width, guidanceEmbed: true, axesDim: fluxAxesDim(32), theta: 10000,
};

export const TINY_VAE: FluxVaeConfig = {
  imageChannels: 3, baseChannels: 32, channelMultipliers: [1, 1, 1, 1], encoderResBlocks: 1, decoderResBlocks: 1,
  latentChannels: 16, groups: 32, eps: 1e-6,
};

/** Std rules that keep activations O(1): biases small, norm scales near 1, matrices 1/sqrt(fan-in). */
function specFor(name: string, shape: readonly number[]): RandomWeightSpec {
  if (name.endsWith('.bias')) return { shape, std: 0.05 };
  if (shape.length === 1) return { shape, std: 0.1, mean: 1 };
  if (/embed|shared\.weight|relative_attention_bias|probe/.test(name)) return { shape, std: 0.5 };
  return { shape, std: 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)) };
}

function specs(shapes: Iterable<[string, readonly number[]]>): Record<string, RandomWeightSpec> {
  const out: Record<string, RandomWeightSpec> = {};
  for (const [name, shape] of shapes) out[name] = specFor(name, shape);
  return out;
}

function t5Shapes(): [string, number[]][] {
  const { vocab, width: w, heads, headDim, ff, depth, buckets } = TINY_T5;
  const inner = heads * headDim;
  const out: [string, number[]][] = [
    ['shared.weight', [vocab, w]],
    ['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [buckets, heads]],
  ];
  for (let i = 0; i < depth; i++) {
    const a = `encoder.block.${i}.layer.0`;
    const f = `encoder.block.${i}.layer.1`;
    out.push([`${a}.layer_norm.weight`, [w]]);
    for (const p of ['q', 'k', 'v']) out.push([`${a}.SelfAttention.${p}.weight`, [inner, w]]);
    out.push([`${a}.SelfAttention.o.weight`, [w, inner]]);
    out.push([`${f}.layer_norm.weight`, [w]]);
    out.push([`${f}.DenseReluDense.wi_0.weight`, [ff, w]], [`${f}.DenseReluDense.wi_1.weight`, [ff, w]], [`${f}.DenseReluDense.wo.weight`, [w, ff]]);
  }
  out.push(['encoder.final_layer_norm.weight', [w]]);
  return out;
}

function clipShapes(): [string, number[]][] {
  const { vocab, width: w, mlp, depth, positions } = TINY_CLIP;
  const out: [string, number[]][] = [
    ['text_model.embeddings.token_embedding.weight', [vocab, w]],
    ['text_model.embeddings.position_embedding.weight', [positions, w]],
  ];
  for (let i = 0; i < depth; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) out.push([`${p}.${n}.weight`, [w]], [`${p}.${n}.bias`, [w]]);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push([`${p}.self_attn.${n}.weight`, [w, w]], [`${p}.self_attn.${n}.bias`, [w]]);
    out.push([`${p}.mlp.fc1.weight`, [mlp, w]], [`${p}.mlp.fc1.bias`, [mlp]], [`${p}.mlp.fc2.weight`, [w, mlp]], [`${p}.mlp.fc2.bias`, [w]]);
  }
  out.push(['text_model.final_layer_norm.weight', [w]], ['text_model.final_layer_norm.bias', [w]], ['text_projection.weight', [w, w]]);
  return out;
}

/** The vision tower plus the attention-pooling head ComfyUI's sigclip file carries (image_embeds). */
function siglipShapes(): [string, number[]][] {
  const { width: w, intermediate: m, layers, patch, imageSize } = TINY_SIGLIP;
  const tokens = (imageSize / patch) ** 2;
  const out: [string, number[]][] = [
    ['vision_model.embeddings.patch_embedding.weight', [w, 3, patch, patch]],
    ['vision_model.embeddings.patch_embedding.bias', [w]],
    ['vision_model.embeddings.position_embedding.weight', [tokens, w]],
  ];
  for (let i = 0; i < layers; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) out.push([`${p}.${n}.weight`, [w]], [`${p}.${n}.bias`, [w]]);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push([`${p}.self_attn.${n}.weight`, [w, w]], [`${p}.self_attn.${n}.bias`, [w]]);
    out.push([`${p}.mlp.fc1.weight`, [m, w]], [`${p}.mlp.fc1.bias`, [m]], [`${p}.mlp.fc2.weight`, [w, m]], [`${p}.mlp.fc2.bias`, [w]]);
  }
  out.push(['vision_model.post_layernorm.weight', [w]], ['vision_model.post_layernorm.bias', [w]]);
  out.push(
    ['vision_model.head.probe', [1, 1, w]],
    ['vision_model.head.attention.in_proj_weight', [3 * w, w]],
    ['vision_model.head.attention.in_proj_bias', [3 * w]],
    ['vision_model.head.attention.out_proj.weight', [w, w]],
    ['vision_model.head.attention.out_proj.bias', [w]],
    ['vision_model.head.layernorm.weight', [w]],
    ['vision_model.head.layernorm.bias', [w]],
    ['vision_model.head.mlp.fc1.weight', [m, w]],
    ['vision_model.head.mlp.fc1.bias', [m]],
    ['vision_model.head.mlp.fc2.weight', [w, m]],
    ['vision_model.head.mlp.fc2.bias', [w]],
  );
  return out;
}

/** USO's projector in its published names (`feature_embedder.` prefix, as ByteDance's projector.safetensors). */
function projectorShapes(): [string, number[]][] {
  const tokens = (TINY_SIGLIP.imageSize / TINY_SIGLIP.patch) ** 2;
  const w = TINY_SIGLIP.width;
  return ['low', 'mid', 'high'].flatMap((x): [string, number[]][] => [
    [`feature_embedder.${x}_embedding_linear.0.weight`, [TINY_PROJECTOR.styleTokens, tokens]],
    [`feature_embedder.${x}_embedding_linear.0.bias`, [TINY_PROJECTOR.styleTokens]],
    [`feature_embedder.${x}_layer_norm.weight`, [w]],
    [`feature_embedder.${x}_layer_norm.bias`, [w]],
    [`feature_embedder.${x}_projection.weight`, [TINY_DIT.hidden, w]],
    [`feature_embedder.${x}_projection.bias`, [TINY_DIT.hidden]],
  ]);
}

function vaeShapes(): [string, readonly number[]][] {
  return [...encoderWeightShapes(TINY_VAE), ...decoderWeightShapes(TINY_VAE)];
}

/**
 * USO's LoRA in ByteDance's names (`double_blocks.N.processor.{qkv,proj}_lora{1,2}.{down,up}.weight`, single blocks'
 * `processor.{qkv,proj}_lora`), rank 4, on every layer the published LoRA patches.
 */
function usoLoraShapes(rank = 4): [string, number[]][] {
  const h = TINY_DIT.hidden;
  const out: [string, number[]][] = [];
  const pair = (p: string, rows: number, inF: number) => out.push([`${p}.down.weight`, [rank, inF]], [`${p}.up.weight`, [rows, rank]]);
  for (let i = 0; i < TINY_DIT.doubleBlocks; i++) {
    for (const n of ['1', '2']) {
      pair(`double_blocks.${i}.processor.qkv_lora${n}`, 3 * h, h);
      pair(`double_blocks.${i}.processor.proj_lora${n}`, h, h);
    }
  }
  for (let i = 0; i < TINY_DIT.singleBlocks; i++) {
    pair(`single_blocks.${i}.processor.qkv_lora`, 3 * h, h);
    pair(`single_blocks.${i}.processor.proj_lora`, h, h + TINY_DIT.mlpHidden);
  }
  return out;
}

/** Tensors of one component, random weights seeded by name, stored as `dtype`, names optionally prefixed. */
export function tinyTensors(
  component: 'dit' | 'vae' | 't5' | 'clip' | 'siglip' | 'projector' | 'lora',
  dtype: RandomWeightDType,
  prefix = '',
): Record<string, SafetensorsTensorInput> {
  const table: Record<string, RandomWeightSpec> =
    component === 'dit' ? fluxWeightSpecs(TINY_DIT)
    : component === 'vae' ? specs(vaeShapes())
    : component === 't5' ? specs(t5Shapes())
    : component === 'clip' ? specs(clipShapes())
    : component === 'siglip' ? specs(siglipShapes())
    : component === 'projector' ? specs(projectorShapes())
    : Object.fromEntries(usoLoraShapes().map(([n, s]) => [n, { shape: s, std: n.includes('.up.') ? 0.02 : 0.2 }]));
  const { tensors } = randomCheckpoint(table, dtype, 1);
  return Object.fromEntries(Object.entries(tensors).map(([n, t]) => [prefix + n, t]));
}
