import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { randomCheckpoint } from '../random-weights.ts';
import { CONTRACTS, checkContract } from '../contract.ts';
import { UnknownArchitectureError } from '../loader.ts';
import { demoVaeTensors } from '../demo/weights.ts';
import { demoMetadata } from '../demo/generate.ts';
import { vaeDecodeRef, vaeEncodeRef } from './demo-reference.ts';
import { normalisedError, runGraph, seededNormal, tempDir, valuesOf, withPrefix, writeAndLoad } from './test-support.ts';
import { DEMO_IDS } from './demo-common.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('demo-vae');
const meta = demoMetadata(`${DEMO_IDS.vaeEncoder},${DEMO_IDS.vaeDecoder}`);

describe('demo VAE', () => {
  it('encoder and decoder match the float64 reference with random weights (golden)', async () => {
    const { tensors } = randomCheckpoint({
      'encoder.conv_in.weight': { shape: [16, 3, 8, 8], std: 0.1 },
      'encoder.conv_in.bias': { shape: [16], std: 0.1 },
      'decoder.conv_in.weight': { shape: [12, 16, 1, 1], std: 0.5 },
      'decoder.conv_in.bias': { shape: [12], std: 0.1 },
    });
    const enc = await writeAndLoad(dir, 'random-vae', tensors, meta, 'vae_encoder');
    const dec = await writeAndLoad(dir, 'random-vae', tensors, meta, 'vae_decoder');
    expect(enc.architecture).toBe('uso-demo-vae-encoder');
    expect(dec.architecture).toBe('uso-demo-vae-decoder');
    checkContract(readFileSync(enc.path), CONTRACTS.vae_encoder, 'enc');
    checkContract(readFileSync(dec.path), CONTRACTS.vae_decoder, 'dec');
    const w = valuesOf(tensors);
    const img = seededNormal('vae-img', 2 * 3 * 32 * 48, 0.5);
    const { latent } = await runGraph(pool, enc, { image: Tensor.float32([2, 3, 32, 48], img) });
    expect(latent!.shape).toEqual([2, 16, 4, 6]);
    expect(normalisedError(latent!.data as Float32Array, vaeEncodeRef(w, img, 2, 32, 48))).toBeLessThan(1e-4);
    const z = seededNormal('vae-z', 2 * 16 * 4 * 6);
    const { image } = await runGraph(pool, dec, { latent: Tensor.float32([2, 16, 4, 6], z) });
    expect(image!.shape).toEqual([2, 3, 32, 48]);
    expect(normalisedError(image!.data as Float32Array, vaeDecodeRef(w, z, 2, 4, 6))).toBeLessThan(1e-4);
  });

  it('decode(encode(image)) gives the image back at 1/4 resolution (demo weights, checkpoint layout)', async () => {
    const enc = await writeAndLoad(dir, 'ckpt-vae', withPrefix('vae.', demoVaeTensors()), demoMetadata('uso-demo-flux-checkpoint'), 'vae_encoder');
    const dec = await writeAndLoad(dir, 'ckpt-vae', withPrefix('vae.', demoVaeTensors()), demoMetadata('uso-demo-flux-checkpoint'), 'vae_decoder');
    expect(enc.keyPrefix).toBe('vae.');
    const H = 64;
    const W = 64;
    // Constant on 4x4 cells (what the quadrant code can hold), varying smoothly from cell to cell.
    const img = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) img[(c * H + y) * W + x] = Math.sin(Math.floor(y / 4) * 0.25 + Math.floor(x / 4) * 0.15 + 2 * c) * 0.8;
    const { latent } = await runGraph(pool, enc, { image: Tensor.float32([1, 3, H, W], img) });
    const lat = latent!.data as Float32Array;
    // Channel c*4+q of latent pixel (i, j) is the mean of colour c over quadrant q of block (i, j).
    expect(lat[((0 * 4 + 3) * 8 + 2) * 8 + 5]).toBeCloseTo(img[(0 * H + 2 * 8 + 4) * W + 5 * 8 + 4]!, 5);
    for (let ch = 12; ch < 16; ch++) for (let i = 0; i < 64; i++) expect(lat[ch * 64 + i]).toBe(0);
    const { image } = await runGraph(pool, dec, { latent: latent! });
    const out = image!.data as Float32Array;
    // Sample the decoded picture at each 4x4 cell's centre: bilinear interpolation passes through the cell values there
    // up to the half-pixel offset, so compare averages of the central 2x2 pixels.
    let worst = 0;
    for (let c = 0; c < 3; c++)
      for (let cy = 0; cy < H / 4; cy++)
        for (let cx = 0; cx < W / 4; cx++) {
          let s = 0;
          for (const dy of [1, 2]) for (const dx of [1, 2]) s += out[(c * H + cy * 4 + dy) * W + cx * 4 + dx]!;
          worst = Math.max(worst, Math.abs(s / 4 - img[(c * H + cy * 4) * W + cx * 4]!));
        }
    // Neighbouring cells differ by at most ~0.2 here and weigh at most 3/8 at the central pixels.
    expect(worst).toBeLessThan(0.05);
    expect(normalisedError(out, img)).toBeLessThan(0.1); // full resolution: cell edges are blended
    // A plain colour comes back exactly.
    const flat = new Float32Array(3 * H * W).fill(-0.3);
    const again = await runGraph(pool, dec, await runGraph(pool, enc, { image: Tensor.float32([1, 3, H, W], flat) }));
    for (const v of again.image!.data as Float32Array) expect(v).toBeCloseTo(-0.3, 5);
  });

  it('refuses a real-looking VAE without the demo flag', async () => {
    const t = demoVaeTensors();
    await expect(writeAndLoad(dir, 'no-flag', t, {}, 'vae_encoder')).rejects.toBeInstanceOf(UnknownArchitectureError);
  });
});
