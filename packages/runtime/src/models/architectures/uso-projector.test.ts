import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { randomCheckpoint, type RandomWeightSpec } from '../random-weights.ts';
import { CONTRACTS, checkContract } from '../contract.ts';
import { demoMetadata } from '../demo/generate.ts';
import { demoProjectorTensors, demoVisionTensors } from '../demo/weights.ts';
import { demoStyleImageA, demoStyleImageB } from '../demo/images.ts';
import { projectorRef } from './demo-reference.ts';
import { normalisedError, runGraph, seededNormal, tempDir, withPrefix, writeAndLoad } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('uso-projector');

function randomProjector(layerNorm: boolean, T = 729, S = 5, W = 12, H = 10) {
  const specs: Record<string, RandomWeightSpec> = {};
  for (const x of ['high', 'mid', 'low']) {
    specs[`feature_embedder.${x}_embedding_linear.0.weight`] = { shape: [S, T], std: 0.05 };
    specs[`feature_embedder.${x}_embedding_linear.0.bias`] = { shape: [S], std: 0.1 };
    if (layerNorm) {
      specs[`feature_embedder.${x}_layer_norm.weight`] = { shape: [W], mean: 1, std: 0.1 };
      specs[`feature_embedder.${x}_layer_norm.bias`] = { shape: [W], std: 0.1 };
    }
    specs[`feature_embedder.${x}_projection.weight`] = { shape: [H, W], std: 0.3 };
    specs[`feature_embedder.${x}_projection.bias`] = { shape: [H], std: 0.1 };
  }
  return randomCheckpoint(specs, 'BF16');
}

/** Bilinear-free square resize to 384 by nearest sampling, then (x/255 - 0.5)/0.5, as CHW. */
function pixelValues(img: { width: number; height: number; rgb: Uint8Array }): Float32Array {
  const out = new Float32Array(3 * 384 * 384);
  for (let y = 0; y < 384; y++)
    for (let x = 0; x < 384; x++) {
      const sx = Math.floor((x * img.width) / 384);
      const sy = Math.floor((y * img.height) / 384);
      for (let c = 0; c < 3; c++) out[(c * 384 + y) * 384 + x] = (img.rgb[(sy * img.width + sx) * 3 + c]! / 255 - 0.5) / 0.5;
    }
  return out;
}

describe('USO projector', () => {
  for (const layerNorm of [true, false]) {
    it(`matches the float64 reference with random bf16 weights, layer norm ${layerNorm ? 'on' : 'off'} (golden)`, async () => {
      const { tensors, values } = randomProjector(layerNorm);
      const graph = await writeAndLoad(dir, `random-${layerNorm}`, tensors, {}, 'projector');
      expect(graph.architecture).toBe('uso-projector');
      expect(graph.keyPrefix).toBe('feature_embedder.');
      expect(graph.config).toEqual({ visionTokens: 729, styleTokens: 5, width: 12, hidden: 10, layerNorm });
      checkContract(readFileSync(graph.path), CONTRACTS.projector, 'projector');
      const hs = seededNormal(`proj-hs-${layerNorm}`, 2 * 3 * 729 * 12);
      const { style_tokens } = await runGraph(pool, graph, { hidden_states: Tensor.float32([2, 3, 729, 12], hs) });
      expect(style_tokens!.shape).toEqual([2, 15, 10]);
      const stripped = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.slice('feature_embedder.'.length), v]));
      const ref = projectorRef(stripped, hs, 2, 729, 12);
      expect(normalisedError(style_tokens!.data as Float32Array, ref.data)).toBeLessThan(1e-4);
    });
  }

  it('puts branches in USO order: high (input 2), mid (1), low (0)', async () => {
    const { tensors } = randomProjector(true, 729, 2, 4, 3);
    const graph = await writeAndLoad(dir, 'order', tensors, {}, 'projector');
    const hs = new Float32Array(3 * 729 * 4);
    hs.set(seededNormal('order-high', 729 * 4), 2 * 729 * 4); // only the high input (index 2) is non-zero
    const base = await runGraph(pool, graph, { hidden_states: Tensor.float32([1, 3, 729, 4], new Float32Array(3 * 729 * 4)) });
    const moved = await runGraph(pool, graph, { hidden_states: Tensor.float32([1, 3, 729, 4], hs) });
    const a = base.style_tokens!.data as Float32Array;
    const b = moved.style_tokens!.data as Float32Array;
    const changed = (tok: number) => [0, 1, 2].some((c) => Math.abs(a[tok * 3 + c]! - b[tok * 3 + c]!) > 1e-6);
    expect([0, 1].map(changed)).toEqual([true, true]); // high branch first
    expect([2, 3, 4, 5].map(changed)).toEqual([false, false, false, false]);
  });

  it('demo vision + projector: style tokens carry the style image mean and E[x²] per colour', async () => {
    const vision = await writeAndLoad(dir, 'vision', demoVisionTensors(), demoMetadata('uso-demo-siglip-vision'), 'vision_encoder');
    const projector = await writeAndLoad(dir, 'demo-projector', withPrefix('feature_embedder.', demoProjectorTensors()), demoMetadata('uso-projector'), 'projector');
    for (const img of [demoStyleImageA(), demoStyleImageB()]) {
      const px = pixelValues(img);
      const { hidden_states } = await runGraph(pool, vision, { pixel_values: Tensor.float32([1, 3, 384, 384], px) });
      const { style_tokens } = await runGraph(pool, projector, { hidden_states: hidden_states! });
      expect(style_tokens!.shape).toEqual([1, 12, 16]);
      // The 27 patches of 14 cover the top-left 378x378 pixels.
      const mean = [0, 0, 0];
      const sq = [0, 0, 0];
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 378; y++)
          for (let x = 0; x < 378; x++) {
            const v = px[(c * 384 + y) * 384 + x]!;
            mean[c]! += v / 378 ** 2;
            sq[c]! += (v * v) / 378 ** 2;
          }
      const st = style_tokens!.data as Float32Array;
      for (let t = 0; t < 12; t++) {
        for (let c = 0; c < 3; c++) {
          expect(Math.abs(st[t * 16 + c]! - mean[c]!)).toBeLessThan(1e-3);
          expect(Math.abs(st[t * 16 + 3 + c]! - sq[c]!)).toBeLessThan(1e-3);
        }
        for (let f = 6; f < 16; f++) expect(Math.abs(st[t * 16 + f]!)).toBeLessThan(1e-3);
      }
    }
  });
});
