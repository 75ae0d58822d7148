/**
 * The T5 v1.1 encoder (FLUX's text encoder: google/t5-v1_1-xxl, 24 layers, d_model 4096, 64 heads of 64, gated-GELU
 * feed-forward 10240, 32128 tokens), from Hugging Face's T5 names as ComfyUI's `t5xxl_*.safetensors`, the
 * `text_encoders.t5xxl.transformer.` part of a combined checkpoint and a diffusers `text_encoder_2/` folder store them.
 *
 * The published architecture, as built here:
 * - x = shared[input_ids] (no scaling of the embedding).
 * - Each block: x += o(attn(rms(x))) then x += wo(gelu_tanh(wi_0(rms(x))) * wi_1(rms(x))).
 * - RMS norm: x / sqrt(mean(x^2) + 1e-6) * weight, no mean subtraction, no bias; computed in float32.
 * - Attention: scores = q k^T with NO 1/sqrt(d) scaling, plus a relative position bias; no attention mask (padding
 *   tokens are attended, as BFL and ComfyUI run it).
 * - The bias is `encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight` [32 buckets, heads], looked up
 *   in block 0 and shared by every block. Buckets are bidirectional: 16 per direction, keys after the query offset by
 *   16; |distance| < 8 has its own bucket, larger ones 8 + floor(log(d/8) / log(128/8) * 8), clamped at 15.
 * - After the last block a final RMS norm. Output [B, L, d_model].
 */

import { GraphBuilder, type BuildResult, type Value } from '../../onnx/graph-builder.ts';
import { activation, attention, linear, rmsNorm } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { countIndexed, type Architecture } from '../architecture.ts';
import { UnknownArchitectureError } from '../loader.ts';
import { embedTokens, foreignModelKind, isScaledFp8Companion, positions, refuseLookalike, shapeIn } from './text-encoder-common.ts';

export interface T5EncoderConfig {
  readonly vocab: number;
  /** d_model. */
  readonly width: number;
  readonly heads: number;
  /** d_kv, the width of one head. */
  readonly headDim: number;
  /** d_ff of the gated feed-forward. */
  readonly ff: number;
  readonly depth: number;
  /** relative_attention_num_buckets (both directions together). */
  readonly buckets: number;
  /** relative_attention_max_distance; not in the weights, 128 for every published T5. */
  readonly maxDistance: number;
  readonly eps: number;
  /** `shared.weight`, or `encoder.embed_tokens.weight` in files that keep only the encoder's copy. */
  readonly embeddingKey: string;
}

export const T5_XXL = { name: 't5-v1_1-xxl', width: 4096, depth: 24 } as const;

const BLOCK = (i: number) => `encoder.block.${i}`;
const ATTN = (i: number) => `${BLOCK(i)}.layer.0.SelfAttention`;
const FF = (i: number) => `${BLOCK(i)}.layer.1.DenseReluDense`;
const BIAS_KEY = `${ATTN(0)}.relative_attention_bias.weight`;
const FINAL_NORM = 'encoder.final_layer_norm.weight';

/**
 * T5's relative position bucket for a key at distance `relative` = key - query, bidirectional. The logarithmic part
 * is evaluated in float32, as the reference computes it (its truncation decides the bucket at exact powers).
 */
export function t5RelativeBucket(relative: number, buckets: number, maxDistance: number): number {
  const half = buckets / 2;
  const maxExact = half / 2;
  const offset = relative > 0 ? half : 0;
  const distance = Math.abs(relative);
  if (distance < maxExact) return offset + distance;
  const f = Math.fround;
  const ratio = f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(ratio * (half - maxExact)));
  return offset + Math.min(large, half - 1);
}

/** Bucket of every relative distance -maxDistance..maxDistance (index = distance + maxDistance); beyond, it is constant. */
export function t5BucketTable(buckets: number, maxDistance: number): number[] {
  return Array.from({ length: 2 * maxDistance + 1 }, (_, i) => t5RelativeBucket(i - maxDistance, buckets, maxDistance));
}

/** Sizes of the T5 family that share this key layout but are not FLUX's encoder. */
const T5_LOOKALIKES = [
  { name: 'T5-small / t5-efficient-small', width: 512 },
  { name: 'T5-base (t5-v1_1-base or t5-base)', width: 768 },
  { name: 'T5-large (t5-v1_1-large or t5-large)', width: 1024 },
  { name: 'T5-XL (t5-v1_1-xl / Pile-T5-XL)', width: 2048 },
] as const;

function detectT5(h: SafetensorsHeader): boolean {
  return h.tensors.has(`${ATTN(0)}.q.weight`) && (h.tensors.has('shared.weight') || h.tensors.has('encoder.embed_tokens.weight'));
}

function inferT5(h: SafetensorsHeader): T5EncoderConfig {
  const embeddingKey = h.tensors.has('shared.weight') ? 'shared.weight' : 'encoder.embed_tokens.weight';
  const [vocab, width] = shapeIn(h, embeddingKey, 2) as [number, number];
  const depth = countIndexed(h, 'encoder.block.');
  if (!h.tensors.has(`${FF(0)}.wi_0.weight`) && h.tensors.has(`${FF(0)}.wi.weight`)) {
    throw new UnknownArchitectureError(
      h.path,
      `looks like an original T5 v1.0 encoder (ReLU feed-forward 'DenseReluDense.wi', d_model ${width}, ${depth} layers); ` +
        `expected ${T5_XXL.name} (gated-GELU 'wi_0'/'wi_1', d_model ${T5_XXL.width}, ${T5_XXL.depth} layers)`,
    );
  }
  if (vocab > 200_000 || h.tensors.has(`${ATTN(1)}.relative_attention_bias.weight`)) {
    throw new UnknownArchitectureError(
      h.path,
      `looks like UMT5 (vocabulary ${vocab}, a position bias in every block); expected ${T5_XXL.name} (32128 tokens, bias in block 0 only)`,
    );
  }
  refuseLookalike(h, { width, depth, what: `T5 encoder, d_model ${width}, ${depth} layers` }, T5_XXL, T5_LOOKALIKES);
  const [buckets, heads] = shapeIn(h, BIAS_KEY, 2) as [number, number];
  const [inner] = shapeIn(h, `${ATTN(0)}.q.weight`, 2) as [number];
  const [ff] = shapeIn(h, `${FF(0)}.wi_0.weight`, 2) as [number];
  if (inner % heads !== 0) throw new Error(`${h.path}: attention width ${inner} is not a multiple of ${heads} heads`);
  return { vocab, width, heads, headDim: inner / heads, ff, depth, buckets, maxDistance: 128, eps: 1e-6, embeddingKey };
}

function t5Required(c: T5EncoderConfig): string[] {
  const keys = [c.embeddingKey, BIAS_KEY, FINAL_NORM];
  for (let i = 0; i < c.depth; i++) {
    for (const p of ['q', 'k', 'v', 'o']) keys.push(`${ATTN(i)}.${p}.weight`);
    for (const p of ['wi_0', 'wi_1', 'wo']) keys.push(`${FF(i)}.${p}.weight`);
    keys.push(`${BLOCK(i)}.layer.0.layer_norm.weight`, `${BLOCK(i)}.layer.1.layer_norm.weight`);
  }
  return keys;
}

/**
 * Tensors a T5 file may hold that the encoder deliberately does not read: the decoder and LM head of a full T5, the
 * encoder's copy of the embedding when `shared.weight` is there, scaled-fp8 companions.
 */
function t5Ignored(c: T5EncoderConfig, names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (
      n.startsWith('decoder.') ||
      n === 'lm_head.weight' ||
      (n === 'encoder.embed_tokens.weight' && c.embeddingKey !== n) ||
      isScaledFp8Companion(n)
    ) {
      out.push(n);
    }
  }
  return out;
}

/** The relative position bias [1, H, L, L] for the sequence of `ids` [B, L], from block 0's table. */
function positionBias(g: GraphBuilder, ids: Value, c: T5EncoderConfig): Value {
  const name = 'encoder.position_bias';
  const pos = positions(g, ids, `${name}.positions`); // [L]
  const keys = g.unsqueeze(pos, [0], `${name}.keys`); // [1, L]
  const queries = g.unsqueeze(pos, [1], `${name}.queries`); // [L, 1]
  const relative = g.sub(keys, queries, `${name}.relative`); // [L, L] key - query
  const lo = g.constInt64([-c.maxDistance], []);
  const hi = g.constInt64([c.maxDistance], []);
  const clamped = g.op('Clip', [relative, lo, hi], { name: `${name}.clamped` }); // [L, L]
  const index = g.add(clamped, hi, `${name}.index`); // [L, L] in 0..2*maxDistance
  const table = g.constInt64(t5BucketTable(c.buckets, c.maxDistance), undefined, `${name}.bucket_table`); // [2M+1]
  const bucket = g.gather(table, index, 0, `${name}.bucket`); // [L, L]
  const values = g.gather(g.weight(BIAS_KEY), bucket, 0, `${name}.values`); // [L, L, H]
  const hll = g.transpose(values, [2, 0, 1], `${name}.hll`); // [H, L, L]
  return g.unsqueeze(hll, [0], name); // [1, H, L, L]
}

function heads(g: GraphBuilder, x: Value, c: T5EncoderConfig, name: string): Value {
  const split = g.reshape(x, [0, 0, c.heads, c.headDim], `${name}.heads`); // [B, L, H, D]
  return g.transpose(split, [0, 2, 1, 3], `${name}.bhld`); // [B, H, L, D]
}

function block(g: GraphBuilder, x: Value, i: number, bias: Value, c: T5EncoderConfig): Value {
  const attn = ATTN(i);
  const h = rmsNorm(g, x, `${BLOCK(i)}.layer.0.layer_norm`, { weightKey: `${BLOCK(i)}.layer.0.layer_norm.weight`, eps: c.eps });
  const q = heads(g, linear(g, h, `${attn}.q`), c, `${attn}.q`); // [B, H, L, D]
  const k = heads(g, linear(g, h, `${attn}.k`), c, `${attn}.k`);
  const v = heads(g, linear(g, h, `${attn}.v`), c, `${attn}.v`);
  const mixed = attention(g, q, k, v, `${attn}.attn`, { headDim: c.headDim, mask: bias, scale: 1 }); // [B, L, H*D]
  x = g.add(x, linear(g, mixed, `${attn}.o`), `${BLOCK(i)}.layer.0.residual`); // [B, L, C]

  const ff = FF(i);
  const n = rmsNorm(g, x, `${BLOCK(i)}.layer.1.layer_norm`, { weightKey: `${BLOCK(i)}.layer.1.layer_norm.weight`, eps: c.eps });
  const gate = activation(g, linear(g, n, `${ff}.wi_0`), 'gelu-tanh', `${ff}.wi_0.act`); // [B, L, ff]
  const gated = g.mul(gate, linear(g, n, `${ff}.wi_1`), `${ff}.gated`); // [B, L, ff]
  return g.add(x, linear(g, gated, `${ff}.wo`), `${BLOCK(i)}.layer.1.residual`); // [B, L, C]
}

/** Builds the encoder graph: input_ids [B, L] int64 -> last_hidden_state [B, L, width] float32. */
export function buildT5Encoder(c: T5EncoderConfig, weights: WeightSource): BuildResult {
  const g = new GraphBuilder({ name: 't5_encoder', weights, metadata: { architecture: 't5-v1_1-encoder' } });
  const ids = g.input('input_ids', 'int64', ['B', 'L']); // [B, L]
  let x = embedTokens(g, ids, c.embeddingKey, 'encoder.embed_tokens'); // [B, L, C]
  const bias = positionBias(g, ids, c); // [1, H, L, L]
  for (let i = 0; i < c.depth; i++) x = block(g, x, i, bias, c);
  const out = rmsNorm(g, x, 'encoder.final_layer_norm', { weightKey: FINAL_NORM, eps: c.eps }); // [B, L, C]
  g.output(out, 'last_hidden_state', 'float32', ['B', 'L', c.width]);
  return g.build();
}

/**
 * Peak working memory of one encoder run for input_ids [B, L] (`inputDims`), in bytes, float32: the attention of one
 * layer is explicit (T5's relative position bias is added to the scores, so no fused kernel), so its scores and their
 * softmax ([B, heads, L, L] each) beside the shared bias ([1, heads, L, L]) dominate long inputs; per token the stream,
 * its residual, the norm, q/k/v and the attention output (6 x width) and the gated feed-forward (3 x ff); plus the
 * largest weight converted from its stored dtype (one ff x width matrix).
 */
export function t5ActivationBytes(c: T5EncoderConfig, inputDims: readonly number[]): number {
  const [batch = 1, tokens = 256] = inputDims;
  const scores = (2 * batch + 1) * c.heads * tokens * tokens * 4;
  const perToken = 4 * (6 * c.width + 3 * c.ff);
  return scores + batch * tokens * perToken + 4 * c.ff * c.width;
}

export const t5Encoder: Architecture<T5EncoderConfig> & {
  ignoredWeights(config: T5EncoderConfig, names: Iterable<string>): string[];
} = {
  id: 't5-v1_1-encoder',
  version: 1,
  role: 't5',
  // float32 everywhere: T5 v1.1's feed-forward outputs overflow float16 (ComfyUI keeps T5 out of fp16 for the same
  // reason), and the accelerators onnxruntime-node ships for (WebGPU) have no bfloat16.
  computeDtypes: ['float32'],
  keyPrefixes: ['text_encoders.t5xxl.transformer.', ''],
  detect: detectT5,
  inferConfig: inferT5,
  requiredWeights: t5Required,
  ignoredWeights: t5Ignored,
  activationBytes: t5ActivationBytes,
  lookalike: (h) => {
    const kind = foreignModelKind(h);
    return kind ? `this looks like ${kind}; a t5 text encoder here must be ${T5_XXL.name} with Hugging Face names such as 'encoder.block.0.layer.0.SelfAttention.q.weight'` : undefined;
  },
  build: buildT5Encoder,
};
