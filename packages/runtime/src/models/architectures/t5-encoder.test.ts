import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../safetensors/writer.ts';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { randomCheckpoint } from '../random-weights.ts';
import { float32ArrayToFloat8E4M3 } from '../../tensor/float8.ts';
import { loadModelGraph, UnknownArchitectureError } from '../loader.ts';
import { defaultArchitectures } from './index.ts';
import { t5ActivationBytes, t5BucketTable, t5Encoder, t5RelativeBucket, type T5EncoderConfig } from './t5-encoder.ts';
import { TINY_DTYPES, TINY_T5, TINY_T5_SHAPE, tinyT5Ids, tinyT5Specs } from './text-encoder-tiny.ts';
import { maxAbsDiff, referenceOutput, TEXT_ENCODER_REFERENCE } from './text-encoder-parity.ts';
import { runGraph, tempDir, withPrefix } from './test-support.ts';
import { join } from 'node:path';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('t5-encoder');

/** Max abs difference per stored dtype (the issue asks 1e-4 for F32): the float64 reference reads the same stored, rounded weights, so every dtype gets the float32 arithmetic bound; measured about 3e-6. */
const BOUND: Record<string, number> = { F32: 2e-5, F16: 2e-5, BF16: 2e-5, F8_E4M3: 2e-5 };

function ids(): Tensor {
  return new Tensor('int64', [TINY_T5_SHAPE.batch, TINY_T5_SHAPE.length], BigInt64Array.from(tinyT5Ids(), BigInt));
}

describe('T5 v1.1 encoder', () => {
  for (const dtype of TINY_DTYPES) {
    it(`matches the PyTorch reference with ${dtype} weights (tiny config, 140 tokens)`, async () => {
      const file = join(dir, `t5-${dtype}.safetensors`);
      writeSafetensors(file, randomCheckpoint(tinyT5Specs(), dtype).tensors);
      const graph = await loadModelGraph(file, 't5', join(dir, 'graphs'), defaultArchitectures());
      expect(graph.architecture).toBe('t5-v1_1-encoder');
      expect(graph.config).toMatchObject({ ...TINY_T5, maxDistance: 128, embeddingKey: 'shared.weight' });
      const out = (await runGraph(pool, graph, { input_ids: ids() })).last_hidden_state!;
      expect(out.shape).toEqual([TINY_T5_SHAPE.batch, TINY_T5_SHAPE.length, TINY_T5.width]);
      const diff = maxAbsDiff(out.data as Float32Array, referenceOutput('t5', dtype));
      expect(diff).toBeLessThanOrEqual(BOUND[dtype]!);
    });
  }

  it("buckets every distance as the reference's float32 formula does (exact powers 16, 32, 64 included)", () => {
    const { from, buckets } = TEXT_ENCODER_REFERENCE.t5_buckets;
    const ours = buckets.map((_, i) => t5RelativeBucket(from + i, 32, 128));
    expect(ours).toEqual(buckets);
    expect([16, 32, 64, -16].map((d) => t5RelativeBucket(d, 32, 128))).toEqual([16 + 10, 16 + 12, 16 + 14, 10]);
    expect(t5BucketTable(32, 128)).toHaveLength(257);
  });

  it('reads the checkpoint prefix and reports every tensor as required or deliberately ignored', async () => {
    const tensors = randomCheckpoint(tinyT5Specs(), 'BF16').tensors;
    const file = join(dir, 'checkpoint.safetensors');
    writeSafetensors(file, {
      ...withPrefix('text_encoders.t5xxl.transformer.', tensors),
      'text_encoders.t5xxl.transformer.encoder.embed_tokens.weight': tensors['shared.weight']!,
      'model.diffusion_model.img_in.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) },
    });
    const graph = await loadModelGraph(file, 't5', join(dir, 'graphs'), defaultArchitectures());
    expect(graph.keyPrefix).toBe('text_encoders.t5xxl.transformer.');
    const names = Object.keys(tensors).concat('encoder.embed_tokens.weight');
    const config = graph.config as T5EncoderConfig;
    const used = new Set(t5Encoder.requiredWeights(config));
    const ignored = new Set(t5Encoder.ignoredWeights(config, names));
    expect(ignored).toEqual(new Set(['encoder.embed_tokens.weight', 'decoder.block.0.layer.0.SelfAttention.q.weight']));
    expect(names.filter((n) => !used.has(n) && !ignored.has(n))).toEqual([]);
    const out = (await runGraph(pool, graph, { input_ids: ids() })).last_hidden_state!;
    expect(maxAbsDiff(out.data as Float32Array, referenceOutput('t5', 'BF16'))).toBeLessThanOrEqual(BOUND.BF16!);
  });

  it("scaled F8_E4M3 (ComfyUI's *_scaled files): every matrix's scale_weight is applied, the embedding's included", async () => {
    const { tensors, values } = randomCheckpoint(tinyT5Specs(), 'F8_E4M3');
    const scaled: typeof tensors = { ...tensors, scaled_fp8: { dtype: 'F8_E4M3', shape: [0], data: new Uint8Array(0) } };
    // Doubling an e4m3 value is exact, so (2 w) * 0.5 is the F8 reference's w.
    for (const name of Object.keys(tensors).filter((n) => tensors[n]!.shape.length === 2 && !n.includes('relative_attention_bias'))) {
      scaled[name] = { dtype: 'F8_E4M3', shape: tensors[name]!.shape, data: float32ArrayToFloat8E4M3(values[name]!.map((v) => 2 * v)) };
      scaled[name.replace(/\.weight$/, '.scale_weight')] = { dtype: 'F32', shape: [], data: Float32Array.of(0.5) };
    }
    const file = join(dir, 't5-scaled.safetensors');
    writeSafetensors(file, scaled);
    const graph = await loadModelGraph(file, 't5', join(dir, 'graphs'), defaultArchitectures());
    const ignored = t5Encoder.ignoredWeights(graph.config as T5EncoderConfig, Object.keys(scaled));
    expect(ignored).toContain('scaled_fp8');
    expect(ignored).toContain('shared.scale_weight');
    const out = (await runGraph(pool, graph, { input_ids: ids() })).last_hidden_state!;
    expect(maxAbsDiff(out.data as Float32Array, referenceOutput('t5', 'F8_E4M3'))).toBeLessThanOrEqual(BOUND.F8_E4M3!);
  });

  it('takes its embedding from encoder.embed_tokens.weight when shared.weight is absent', () => {
    const { tensors } = randomCheckpoint(tinyT5Specs(), 'F16');
    const { 'shared.weight': shared, ...rest } = tensors;
    const file = join(dir, 'embed-tokens.safetensors');
    writeSafetensors(file, { ...rest, 'encoder.embed_tokens.weight': shared! });
    const header = readSafetensorsHeader(file);
    expect(t5Encoder.detect(header)).toBe(true);
    expect(t5Encoder.inferConfig(header).embeddingKey).toBe('encoder.embed_tokens.weight');
  });
});

describe('T5 lookalikes are refused with what they look like', () => {
  /** A header-only file (shapes as published, data zero) of a T5 encoder with these sizes. */
  function t5Header(name: string, width: number, depth: number, options: { gated?: boolean; vocab?: number } = {}): string {
    const specs: Record<string, { shape: number[] }> = {
      'shared.weight': { shape: [options.vocab ?? 8, width] },
      'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight': { shape: [32, 2] },
    };
    for (let i = 0; i < depth; i++) {
      specs[`encoder.block.${i}.layer.0.SelfAttention.q.weight`] = { shape: [2, width] };
      if (options.gated ?? true) specs[`encoder.block.${i}.layer.1.DenseReluDense.wi_0.weight`] = { shape: [2, width] };
      else specs[`encoder.block.${i}.layer.1.DenseReluDense.wi.weight`] = { shape: [2, width] };
    }
    const file = join(dir, `${name}.safetensors`);
    writeSafetensors(file, randomCheckpoint(specs, 'F16').tensors);
    return file;
  }

  it('a CLIP-L file given as T5 says what it looks like', async () => {
    const file = join(dir, 'clip_l-as-t5.safetensors');
    writeSafetensors(file, randomCheckpoint({ 'text_model.encoder.layers.0.self_attn.q_proj.weight': { shape: [4, 4] } }, 'F16').tensors);
    const error = await loadModelGraph(file, 't5', join(dir, 'graphs'), defaultArchitectures()).catch((e) => e);
    expect(error).toBeInstanceOf(UnknownArchitectureError);
    expect(error.message).toMatch(/this looks like a CLIP text encoder; a t5 text encoder here must be t5-v1_1-xxl/);
  });

  const cases: Array<[string, string, RegExp]> = [
    ['t5-v1_1-base', t5Header('t5-v1_1-base', 768, 12), /looks like T5-base .*d_model 768, 12 layers.*expected t5-v1_1-xxl \(width 4096, 24 layers\)/],
    ['t5-base (v1.0)', t5Header('t5-base-v1_0', 768, 12, { gated: false }), /original T5 v1.0 encoder \(ReLU.*d_model 768, 12 layers\); expected t5-v1_1-xxl/],
    ['umt5', t5Header('umt5', 64, 1, { vocab: 256384 }), /looks like UMT5/],
  ];
  for (const [label, file, message] of cases) {
    it(label, async () => {
      const error = await loadModelGraph(file, 't5', join(dir, 'graphs'), defaultArchitectures()).catch((e) => e);
      expect(error).toBeInstanceOf(UnknownArchitectureError);
      expect(error.message).toContain(file);
      expect(error.message).toMatch(message);
    });
  }
});

describe('T5 working memory', () => {
  const xxl: T5EncoderConfig = { vocab: 32128, width: 4096, heads: 64, headDim: 64, ff: 10240, depth: 24, buckets: 32, maxDistance: 128, eps: 1e-6, embeddingKey: 'shared.weight' };
  it('counts the explicit attention scores, the stream and feed-forward per token, and one converted weight', () => {
    // 512 tokens, one sequence: scores + softmax + the shared bias = 3 x 64 x 512² floats; 6 x 4096 + 3 x 10240 floats
    // per token; one 10240 x 4096 weight in float32.
    expect(t5ActivationBytes(xxl, [1, 512])).toBe(3 * 64 * 512 * 512 * 4 + 512 * 4 * (6 * 4096 + 3 * 10240) + 4 * 10240 * 4096);
    expect(t5Encoder.activationBytes).toBe(t5ActivationBytes);
    // Long texts: the scores grow with the square of the tokens (25,000 tokens: about 480 GB).
    expect(t5ActivationBytes(xxl, [1, 25_000])).toBeGreaterThan(450e9);
  });
});
