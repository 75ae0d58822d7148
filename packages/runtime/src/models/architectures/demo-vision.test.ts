import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { randomCheckpoint, type RandomWeightSpec } from '../random-weights.ts';
import { CONTRACTS, checkContract } from '../contract.ts';
import { demoMetadata } from '../demo/generate.ts';
import { demoVisionTensors } from '../demo/weights.ts';
import { visionRef } from './demo-reference.ts';
import { usoSelectedLayers } from './demo-vision.ts';
import { normalisedError, runGraph, seededNormal, tempDir, valuesOf, writeAndLoad } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('demo-vision');
const meta = demoMetadata('uso-demo-siglip-vision');

describe('demo vision encoder', () => {
  it('selects the layers USOStyleReference reads: -20, -11, -2', () => {
    expect(usoSelectedLayers(27)).toEqual([7, 16, 25]);
    expect(() => usoSelectedLayers(12)).toThrow(/at least 20/);
  });

  it('matches the float64 reference with random weights (golden)', async () => {
    const layers = 21;
    const specs: Record<string, RandomWeightSpec> = {
      'vision_model.embeddings.patch_embedding.weight': { shape: [6, 6, 14, 14], std: 0.02 },
      'vision_model.embeddings.patch_embedding.bias': { shape: [6], std: 0.1 },
      'vision_model.embeddings.feature_proj.weight': { shape: [8, 6], std: 0.5 },
      'vision_model.embeddings.feature_proj.bias': { shape: [8], std: 0.1 },
    };
    for (let i = 0; i < layers; i++) specs[`vision_model.encoder.layers.${i}.layer_scale`] = { shape: [8], mean: 1, std: 0.05 };
    const { tensors } = randomCheckpoint(specs);
    const graph = await writeAndLoad(dir, 'random-vision', tensors, meta, 'vision_encoder');
    expect(graph.architecture).toBe('uso-demo-siglip-vision');
    expect(graph.config).toMatchObject({ layers, width: 8, selectedLayers: [1, 10, 19] });
    checkContract(readFileSync(graph.path), CONTRACTS.vision_encoder, 'vision');
    const px = seededNormal('vision-px', 3 * 384 * 384, 0.5);
    const out = await runGraph(pool, graph, { pixel_values: Tensor.float32([1, 3, 384, 384], px) });
    const ref = visionRef(valuesOf(tensors), px, 1, layers);
    expect(out.hidden_states!.shape).toEqual([1, 3, 729, 8]);
    expect(out.last_hidden_state!.shape).toEqual([1, 729, 8]);
    expect(normalisedError(out.hidden_states!.data as Float32Array, ref.hidden)).toBeLessThan(1e-4);
    expect(normalisedError(out.last_hidden_state!.data as Float32Array, ref.last)).toBeLessThan(1e-4);
    // penultimate_hidden_states is the selected 'high' layer (the second-to-last) on its own.
    expect(out.penultimate_hidden_states!.shape).toEqual([1, 729, 8]);
    expect([...(out.penultimate_hidden_states!.data as Float32Array)]).toEqual([...(out.hidden_states!.data as Float32Array).subarray(2 * 729 * 8)]);
  });

  it('demo weights give each token its patch statistics and the ± constants', async () => {
    const graph = await writeAndLoad(dir, 'demo-vision', demoVisionTensors(), meta, 'vision_encoder');
    const px = new Float32Array(3 * 384 * 384);
    for (let i = 0; i < 384 * 384; i++) {
      px[i] = 0.5; // red
      px[384 * 384 + i] = (i % 2) * 2 - 1; // green alternates -1, 1: mean 0, E x² 1
      px[2 * 384 * 384 + i] = -0.25; // blue
    }
    const out = await runGraph(pool, graph, { pixel_values: Tensor.float32([1, 3, 384, 384], px) });
    const h = out.hidden_states!.data as Float32Array;
    const token = Array.from(h.subarray(2 * 729 * 16 + 100 * 16, 2 * 729 * 16 + 101 * 16));
    const expected = [0.5, 0, -0.25, 0.25, 1, 0.0625, -0.5, 0, 0.25, -0.25, -1, -0.0625, 256, -256, 0, 0];
    token.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });
});
