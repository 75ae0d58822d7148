/**
 * Tiny T5 and CLIP text checkpoints for parity tests: the official key names at toy widths and depths, weights
 * seeded by tensor name (randomCheckpoint), and fixed token ids. The fixture script writes them for the PyTorch
 * reference; the tests regenerate the same bytes and compare our graphs' outputs with the recorded ones.
 * Test support only; not exported from the package.
 */

import type { RandomWeightDType, RandomWeightSpec } from '../random-weights.ts';

/** Every stored dtype the encoders read (written with randomCheckpoint). */
export const TINY_DTYPES: readonly RandomWeightDType[] = ['F32', 'F16', 'BF16', 'F8_E4M3'];

export const TINY_T5 = { vocab: 64, width: 32, heads: 4, headDim: 8, ff: 48, depth: 2, buckets: 32 } as const;
/** Long enough that distances 16, 32, 64 (exact bucket boundaries) and beyond 128 (the clamp) all occur. */
export const TINY_T5_SHAPE = { batch: 2, length: 140 } as const;

export const TINY_CLIP = { vocab: 100, width: 128, mlp: 256, depth: 2, positions: 77 } as const;
export const TINY_CLIP_SHAPE = { batch: 3, length: 77 } as const;

/** T5 encoder weights, plus a decoder tensor and the encoder's embedding copy that must be ignored. */
export function tinyT5Specs(): Record<string, RandomWeightSpec> {
  const { vocab, width, heads, headDim, ff, depth, buckets } = TINY_T5;
  const inner = heads * headDim;
  const specs: Record<string, RandomWeightSpec> = {
    'shared.weight': { shape: [vocab, width], std: 1 },
    'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight': { shape: [buckets, heads], std: 0.5 },
    'encoder.final_layer_norm.weight': { shape: [width], mean: 1, std: 0.1 },
  };
  for (let i = 0; i < depth; i++) {
    const a = `encoder.block.${i}.layer.0`;
    const f = `encoder.block.${i}.layer.1`;
    specs[`${a}.layer_norm.weight`] = { shape: [width], mean: 1, std: 0.1 };
    for (const p of ['q', 'k']) specs[`${a}.SelfAttention.${p}.weight`] = { shape: [inner, width], std: 0.1 };
    specs[`${a}.SelfAttention.v.weight`] = { shape: [inner, width], std: 0.2 };
    specs[`${a}.SelfAttention.o.weight`] = { shape: [width, inner], std: 0.2 };
    specs[`${f}.layer_norm.weight`] = { shape: [width], mean: 1, std: 0.1 };
    specs[`${f}.DenseReluDense.wi_0.weight`] = { shape: [ff, width], std: 0.2 };
    specs[`${f}.DenseReluDense.wi_1.weight`] = { shape: [ff, width], std: 0.2 };
    specs[`${f}.DenseReluDense.wo.weight`] = { shape: [width, ff], std: 0.2 };
  }
  specs['decoder.block.0.layer.0.SelfAttention.q.weight'] = { shape: [inner, width], std: 0.1 };
  return specs;
}

/** CLIP text weights with `text_projection` and `position_ids`-free layout (the ignored projection is included). */
export function tinyClipSpecs(): Record<string, RandomWeightSpec> {
  const { vocab, width, mlp, depth, positions } = TINY_CLIP;
  const specs: Record<string, RandomWeightSpec> = {
    'text_model.embeddings.token_embedding.weight': { shape: [vocab, width], std: 0.5 },
    'text_model.embeddings.position_embedding.weight': { shape: [positions, width], std: 0.2 },
    'text_model.final_layer_norm.weight': { shape: [width], mean: 1, std: 0.1 },
    'text_model.final_layer_norm.bias': { shape: [width], std: 0.1 },
    'text_projection.weight': { shape: [width, width], std: 0.1 },
  };
  for (let i = 0; i < depth; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2']) {
      specs[`${p}.${n}.weight`] = { shape: [width], mean: 1, std: 0.1 };
      specs[`${p}.${n}.bias`] = { shape: [width], std: 0.1 };
    }
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      specs[`${p}.self_attn.${n}.weight`] = { shape: [width, width], std: 0.1 };
      specs[`${p}.self_attn.${n}.bias`] = { shape: [width], std: 0.05 };
    }
    specs[`${p}.mlp.fc1.weight`] = { shape: [mlp, width], std: 0.1 };
    specs[`${p}.mlp.fc1.bias`] = { shape: [mlp], std: 0.05 };
    specs[`${p}.mlp.fc2.weight`] = { shape: [width, mlp], std: 0.1 };
    specs[`${p}.mlp.fc2.bias`] = { shape: [width], std: 0.05 };
  }
  return specs;
}

/** Deterministic ids in 0..vocab-1 (a small LCG), row-major [batch, length]. */
function lcgIds(count: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

/** T5 ids: random tokens, the second row padded (0) after 100 tokens, as a short prompt would be. */
export function tinyT5Ids(): number[] {
  const { batch, length } = TINY_T5_SHAPE;
  const ids = lcgIds(batch * length, TINY_T5.vocab - 2, 7).map((id) => id + 2);
  for (let j = 100; j < length; j++) ids[length + j] = 0;
  ids[length + 99] = 1;
  return ids;
}

/**
 * CLIP ids: start token 98, words below 98, end-of-text 99 (the largest id, as 49407 in CLIP-L) then end-token
 * padding; the rows end their text at different places (the last row fills all 77 without padding).
 */
export function tinyClipIds(): number[] {
  const { batch, length } = TINY_CLIP_SHAPE;
  const words = lcgIds(batch * length, 98, 11);
  const ends = [5, 40, length - 1];
  const ids: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < length; j++) ids.push(j === 0 ? 98 : j < ends[b]! ? words[b * length + j]! : 99);
  }
  return ids;
}
