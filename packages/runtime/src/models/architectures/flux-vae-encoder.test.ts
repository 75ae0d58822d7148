import { describe, it, expect, afterAll } from 'vitest';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { encoderWeights } from './flux-vae-config.ts';
import { FLUX_VAE_ENCODER_ID } from './flux-vae-encoder.ts';
import { expectedOutput, maxAbsDiff, reference, referenceImage, tinyCheckpoint } from './flux-vae-test-support.ts';
import { runGraph, tempDir, writeAndLoad } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('flux-vae-encoder');

// Bound per stored dtype: the torch reference uses the same rounded weights in float64, so every dtype is held to
// float32 rounding of our graph (measured 1.5e-6 to 3.6e-6 max abs over the four dtypes, on outputs of magnitude up to 2.6).
const BOUND = { F32: 1e-4, BF16: 1e-4, F16: 1e-4, F8_E4M3: 1e-4 } as const;

describe('FLUX VAE encoder', () => {
  for (const dtype of ['F32', 'BF16', 'F16', 'F8_E4M3'] as const) {
    it(`matches the independent torch implementation with ${dtype} weights (tiny config, posterior mean)`, async () => {
      const graph = await writeAndLoad(dir, `tiny-${dtype}`, tinyCheckpoint(dtype), {}, 'vae_encoder');
      expect(graph.architecture).toBe(FLUX_VAE_ENCODER_ID);
      expect(graph.graphOptimizationLevel).toBe('extended');
      expect(graph.config).toMatchObject({ baseChannels: reference.config.ch, channelMultipliers: reference.config.ch_mult, encoderResBlocks: 2, latentChannels: 16 });
      const { latent } = await runGraph(pool, graph, { image: Tensor.float32(reference.imageShape, referenceImage()) });
      const expected = expectedOutput(dtype, 'encoder');
      expect(latent!.shape).toEqual(expected.shape);
      const diff = maxAbsDiff(latent!.data as Float32Array, expected.values);
      expect(diff).toBeLessThan(BOUND[dtype]);
    });
  }

  it('reads exactly the encoder half of the reference weights', () => {
    const names = Object.keys(reference.weights).filter((n) => n.startsWith('encoder.'));
    const config = { imageChannels: 3, baseChannels: 32, channelMultipliers: [1, 2, 2, 2], encoderResBlocks: 2, decoderResBlocks: 3, latentChannels: 16, groups: 32, eps: 1e-6 };
    expect(encoderWeights(config).sort()).toEqual(names.sort());
  });
});
