import { describe, it, expect, afterAll } from 'vitest';
import { NodeRegistry } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import { makeTestHost, recordingContext } from '../test-support.ts';
import { vaeLoader } from './loaders.ts';
import { emptyLatentImage, emptySD3LatentImage, vaeDecode, vaeEncode, vaeInput } from './latent.ts';
import type { Latent } from '../flux/sample.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const ctx = () => recordingContext(host.env);

describe('empty latents', () => {
  it('have ComfyUI defaults and shapes', async () => {
    const info = new NodeRegistry([emptyLatentImage, emptySD3LatentImage]).objectInfo(host.env);
    expect(info.EmptyLatentImage!.input.required.width).toEqual(['INT', { default: 512, min: 16, max: 16384, step: 8, tooltip: 'The width of the latent images in pixels.' }]);
    expect(info.EmptySD3LatentImage!.input.required.height![1]).toMatchObject({ default: 1024, step: 16 });
    const [a] = (await emptyLatentImage.execute({ width: 64, height: 48, batch_size: 2 }, ctx())).outputs as [Latent];
    expect(a.samples.shape).toEqual([2, 4, 6, 8]);
    const [b] = (await emptySD3LatentImage.execute({ width: 64, height: 48, batch_size: 1 }, ctx())).outputs as [Latent];
    expect(b.samples.shape).toEqual([1, 16, 6, 8]);
    expect(b.samples.data.every((v) => v === 0)).toBe(true);
  });
});

describe('VAE nodes', () => {
  it('crop pixels to multiples of 8 around the centre and map 0..1 to -1..1', () => {
    // 1 x 11 x 10 x 4 image whose red channel is the row index / 10.
    const img = new Float32Array(11 * 10 * 4);
    for (let y = 0; y < 11; y++) for (let x = 0; x < 10; x++) img[(y * 10 + x) * 4] = y / 10;
    const t = vaeInput(Tensor.float32([1, 11, 10, 4], img));
    expect(t.shape).toEqual([1, 3, 8, 8]);
    // Offset (11 % 8) // 2 = 1 row: first kept row is row 1.
    expect(t.data[0]).toBeCloseTo(0.1 * 2 - 1, 6);
    expect(t.data[7 * 8]).toBeCloseTo(0.8 * 2 - 1, 6);
  });

  it('encode to the raw latent and decode back to a clamped IMAGE', async () => {
    const [vae] = (await vaeLoader.execute({ vae_name: 'test-ae.safetensors' }, ctx())).outputs!;
    const img = new Float32Array(16 * 16 * 3);
    for (let p = 0; p < 256; p++) {
      img[p * 3] = 0.25;
      img[p * 3 + 1] = 0.5;
      img[p * 3 + 2] = p < 128 ? 1 : 0;
    }
    const [latent] = (await vaeEncode.execute({ pixels: Tensor.float32([1, 16, 16, 3], img), vae }, ctx())).outputs as [Latent];
    expect(latent.samples.shape).toEqual([1, 16, 2, 2]);
    // Channel k = mean of colour k % 3 in [-1, 1].
    const s = latent.samples.data;
    expect(s[0]).toBeCloseTo(-0.5, 5); // channel 0 (red), block (0, 0)
    expect(s[4]).toBeCloseTo(0, 5); // channel 1 (green)
    expect(s[8]).toBeCloseTo(1, 5); // channel 2 (blue), top blocks
    expect(s[8 + 2]).toBeCloseTo(-1, 5); // blue, bottom-left block
    const [image] = (await vaeDecode.execute({ samples: latent, vae }, ctx())).outputs as [Tensor<'float32'>];
    expect(image.shape).toEqual([1, 16, 16, 3]);
    // Decoder: colour c = sum of channels c (only k < 3), i.e. the encoded mean; (x + 1) / 2 gives the input back.
    expect(image.data[0]).toBeCloseTo(0.25, 5);
    expect(image.data[1]).toBeCloseTo(0.5, 5);
    expect(image.data[2]).toBeCloseTo(1, 5);
    expect(image.data[(15 * 16) * 3 + 2]).toBeCloseTo(0, 5);
    await expect(vaeDecode.execute({ samples: latent, vae: null }, ctx())).rejects.toThrow(/VAE is invalid/);
  });
});
