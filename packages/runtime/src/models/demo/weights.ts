/**
 * The demo models' tensors, under canonical (unprefixed) names. Every value is hand-set or seeded by name: nothing
 * is learned. The generator writes them with ComfyUI's prefixes; golden tests build the same tensors in memory.
 */

import type { SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { randomWeight } from '../random-weights.ts';
import { COLOUR_WORDS } from './vocabulary.ts';
import { DEMO_CLIP_TOKENIZER, DEMO_T5_TOKENIZER, demoVocabulary } from './tokenizer.ts';

export type TensorMap = Record<string, SafetensorsTensorInput>;

const f32 = (shape: number[], data: Float32Array): SafetensorsTensorInput => ({ dtype: 'F32', shape, data });

/** Hand-set numbers of the demo set. */
export const DEMO_NUMBERS = Object.freeze({
  /** Width of text, pooled and style features. */
  width: 16,
  /** Vision layers (SigLIP so400m has 27). */
  visionLayers: 27,
  /** The large ± constant features of the vision tokens, which fix the projector's LayerNorm scale. */
  visionK: 256,
  /** Bias of the projector's token Linear: keeps every SiLU input above 30, where SiLU is the identity in float32. */
  projectorBias: 288,
  /** Style tokens per projector branch (real USO: 64). */
  styleTokensPerBranch: 4,
  visionTokens: 729,
  /** Cosine waves of the DiT's text pattern. */
  waves: 4,
  /** Base style gate of the DiT (`double_blocks.0.img_attn.proj.weight` = gate * I). */
  styleGate: 0.35,
  /** What the USO LoRA adds to that gate on the colour features. */
  loraGate: 0.65,
});

/** Demo VAE: `encoder.conv_in` [16, 3, 8, 8] quadrant means, `decoder.conv_in` [12, 16, 1, 1] channel selector. */
export function demoVaeTensors(): TensorMap {
  const enc = new Float32Array(16 * 3 * 8 * 8);
  for (let c = 0; c < 3; c++) {
    for (let q = 0; q < 4; q++) {
      const ch = c * 4 + q;
      const qy = q >> 1;
      const qx = q & 1;
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) enc[((ch * 3 + c) * 8 + qy * 4 + y) * 8 + qx * 4 + x] = 1 / 16;
    }
  }
  const dec = new Float32Array(12 * 16);
  for (let i = 0; i < 12; i++) dec[i * 16 + i] = 1;
  return {
    'encoder.conv_in.weight': f32([16, 3, 8, 8], enc),
    'encoder.conv_in.bias': f32([16], new Float32Array(16)),
    'decoder.conv_in.weight': f32([12, 16, 1, 1], dec),
    'decoder.conv_in.bias': f32([12], new Float32Array(12)),
  };
}

/** Demo vision encoder: averaging patch conv over (x, x²) and the ±feature projection; layer scales of ones. */
export function demoVisionTensors(layers: number = DEMO_NUMBERS.visionLayers): TensorMap {
  const W = DEMO_NUMBERS.width;
  const K = DEMO_NUMBERS.visionK;
  const patch = new Float32Array(6 * 6 * 14 * 14);
  for (let o = 0; o < 6; o++) for (let i = 0; i < 14 * 14; i++) patch[(o * 6 + o) * 196 + i] = 1 / 196;
  const proj = new Float32Array(W * 6);
  const bias = new Float32Array(W);
  for (let j = 0; j < 6; j++) {
    proj[j * 6 + j] = 1; // E stat
    proj[(6 + j) * 6 + j] = -1; // its negative, so the LayerNorm mean stays 0
  }
  bias[12] = K;
  bias[13] = -K;
  const out: TensorMap = {
    'vision_model.embeddings.patch_embedding.weight': f32([6, 6, 14, 14], patch),
    'vision_model.embeddings.patch_embedding.bias': f32([6], new Float32Array(6)),
    'vision_model.embeddings.feature_proj.weight': f32([W, 6], proj),
    'vision_model.embeddings.feature_proj.bias': f32([W], bias),
  };
  for (let i = 0; i < layers; i++) out[`vision_model.encoder.layers.${i}.layer_scale`] = f32([W], new Float32Array(W).fill(1));
  return out;
}

/**
 * USO projector with demo dims (729 tokens -> 4 style tokens per branch, width 16 -> hidden 16), names without the
 * `feature_embedder.` prefix. Each style token comes out as [E r, E g, E b, E r², E g², E b², 0, ...].
 */
export function demoProjectorTensors(): TensorMap {
  const W = DEMO_NUMBERS.width;
  const S = DEMO_NUMBERS.styleTokensPerBranch;
  const T = DEMO_NUMBERS.visionTokens;
  const sigma = DEMO_NUMBERS.visionK / Math.sqrt(8); // the LayerNorm's standard deviation, up to ~5e-5 relative
  const out: TensorMap = {};
  for (const x of ['high', 'mid', 'low']) {
    out[`${x}_embedding_linear.0.weight`] = f32([S, T], new Float32Array(S * T).fill(1 / T));
    out[`${x}_embedding_linear.0.bias`] = f32([S], new Float32Array(S).fill(DEMO_NUMBERS.projectorBias));
    out[`${x}_layer_norm.weight`] = f32([W], new Float32Array(W).fill(1));
    out[`${x}_layer_norm.bias`] = f32([W], new Float32Array(W));
    const p = new Float32Array(W * W);
    for (let j = 0; j < 6; j++) p[j * W + j] = sigma;
    out[`${x}_projection.weight`] = f32([W, W], p);
    out[`${x}_projection.bias`] = f32([W], new Float32Array(W));
  }
  return out;
}

/** Rows of the demo T5 embedding: colour in 0..2, name-seeded features 3..14, presence 1 in 15; specials zero. */
export function demoT5Tensors(): TensorMap {
  const W = DEMO_NUMBERS.width;
  const vocab = demoVocabulary(DEMO_T5_TOKENIZER);
  const emb = new Float32Array(vocab.size * W);
  for (const [token, id] of vocab) {
    if (token === DEMO_T5_TOKENIZER.pad || token === DEMO_T5_TOKENIZER.eos) continue;
    const rgb = COLOUR_WORDS[token] ?? [0, 0, 0];
    emb.set(rgb, id * W);
    emb.set(randomWeight(`uso-demo-t5:${token}`, [W - 4]), id * W + 3);
    emb[id * W + W - 1] = 1;
  }
  return { 'shared.weight': f32([vocab.size, W], emb) };
}

/** Rows of the demo CLIP embedding: name-seeded features 0..14, presence 1 in 15; start/end rows zero. */
export function demoClipTensors(): TensorMap {
  const W = DEMO_NUMBERS.width;
  const vocab = demoVocabulary(DEMO_CLIP_TOKENIZER);
  const emb = new Float32Array(vocab.size * W);
  for (const [token, id] of vocab) {
    if (token === DEMO_CLIP_TOKENIZER.bos || token === DEMO_CLIP_TOKENIZER.eos) continue;
    emb.set(randomWeight(`uso-demo-clip:${token}`, [W - 1]), id * W);
    emb[id * W + W - 1] = 1;
  }
  return { 'text_model.embeddings.token_embedding.weight': f32([vocab.size, W], emb) };
}

/**
 * Demo DiT: `txt_in` maps the mean text features to [tint 3, frequencies 2W, amplitudes 3W]; `vector_in` the pooled
 * CLIP vector to W phases; `double_blocks.0.img_attn.proj` is the style gate 0.35 I.
 */
export function demoDitTensors(): TensorMap {
  const W = DEMO_NUMBERS.width;
  const waves = DEMO_NUMBERS.waves;
  const P = 3 + 5 * waves;
  const txtW = new Float32Array(P * W);
  const txtB = new Float32Array(P);
  for (let c = 0; c < 3; c++) txtW[c * W + c] = 1; // colour words tint
  const baseFreq = [1, 0.5, 0.5, 1.5, 2, -1, 1.5, 2.5];
  const freqW = randomWeight('uso-demo-dit:freq', [2 * waves, 12], { std: 1.5 });
  const ampW = randomWeight('uso-demo-dit:amp', [3 * waves, 12], { std: 0.3 });
  const ampB = randomWeight('uso-demo-dit:amp_bias', [3 * waves], { std: 0.25 });
  for (let r = 0; r < 2 * waves; r++) {
    txtB[3 + r] = baseFreq[r]!;
    for (let k = 0; k < 12; k++) txtW[(3 + r) * W + 3 + k] = freqW[r * 12 + k]!;
  }
  for (let r = 0; r < 3 * waves; r++) {
    const row = 3 + 2 * waves + r;
    txtB[row] = ampB[r]!;
    for (let k = 0; k < 12; k++) txtW[row * W + 3 + k] = ampW[r * 12 + k]!;
  }
  const vec = randomWeight('uso-demo-dit:phase', [waves, W], { std: 1.5 });
  for (let k = 0; k < waves; k++) vec[k * W + W - 1] = 0; // the presence flag carries no phase
  const gate = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) gate[i * 64 + i] = DEMO_NUMBERS.styleGate;
  return {
    'txt_in.weight': f32([P, W], txtW),
    'txt_in.bias': f32([P], txtB),
    'vector_in.weight': f32([waves, W], vec),
    'double_blocks.0.img_attn.proj.weight': f32([64, 64], gate),
    'double_blocks.0.img_attn.proj.bias': f32([64], new Float32Array(64)),
  };
}

/**
 * The demo USO LoRA in USO's own key format: `double_blocks.0.processor.proj_lora1.{down,up}.weight`, which
 * LoraLoaderModelOnly maps onto `diffusion_model.double_blocks.0.img_attn.proj.weight`. Rank 48 (the colour
 * features); up @ down = 0.65 on features 0..47; no `.alpha` key, so ComfyUI's scale is 1.
 */
export function demoLoraTensors(): TensorMap {
  const rank = 48;
  const down = new Float32Array(rank * 64);
  const up = new Float32Array(64 * rank);
  for (let i = 0; i < rank; i++) {
    down[i * 64 + i] = 1;
    up[i * rank + i] = DEMO_NUMBERS.loraGate;
  }
  return {
    'double_blocks.0.processor.proj_lora1.down.weight': f32([rank, 64], down),
    'double_blocks.0.processor.proj_lora1.up.weight': f32([64, rank], up),
  };
}
