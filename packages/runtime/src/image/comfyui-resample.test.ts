/**
 * Resampling against ComfyUI's own numbers: fixtures/comfyui-resample.json holds the outputs of ComfyUI's
 * `common_upscale` (torch 1.13 interpolate, ComfyUI's bislerp, Pillow 9.4's LANCZOS) on seeded inputs, written by
 * scripts/comfyui/make-resample-fixtures.py from ComfyUI's source at the commit it records.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor/tensor.ts';
import { commonUpscaleLatent, type LatentUpscaleMethod } from './common-upscale.ts';
import { pilLanczos } from './pil-lanczos.ts';

interface Full {
  shape: number[];
  values: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/comfyui-resample.json', import.meta.url), 'utf8')) as {
  latent: Full;
  common_upscale_latent: { method: LatentUpscaleMethod; width: number; height: number; crop: 'disabled' | 'center'; out: Full }[];
  rgb: Full;
  rgba: Full;
  lanczos: { image: 'rgb' | 'rgba'; width: number; height: number; out: { shape: number[]; levels: number[] } }[];
};

const tensor = (full: Full) => Tensor.float32(full.shape, Float32Array.from(full.values));

/** Largest |a - b|, with b's values (written with the fewest digits that read back as float32) as float32. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - Math.fround(b[i]!)));
  return max;
}

describe('commonUpscaleLatent against ComfyUI common_upscale', () => {
  // Torch runs these in float32; the separable passes here sum in float64 and round once, so results can differ
  // by float32 rounding only (measured: bilinear 7.7e-7, area 1.2e-7, bicubic 1.5e-6, bislerp 7.2e-7 on values up to ~2).
  const BOUND: Record<LatentUpscaleMethod, number> = { 'nearest-exact': 0, bilinear: 1e-6, area: 2.5e-7, bicubic: 2e-6, bislerp: 2e-6 };
  const latent = tensor(fixture.latent);

  it.each(fixture.common_upscale_latent.map((c) => [c.method, c.width, c.height, c.crop, c] as const))(
    '%s to %ix%i, crop %s',
    (method, width, height, crop, c) => {
      const ours = commonUpscaleLatent(latent, width, height, method, crop);
      expect(ours.shape).toEqual(c.out.shape);
      expect(maxAbsDiff(ours.data, c.out.values)).toBeLessThanOrEqual(BOUND[method]);
    },
  );
});

describe("pilLanczos against Pillow's LANCZOS through ComfyUI's lanczos()", () => {
  it.each(fixture.lanczos.map((c) => [c.image, c.width, c.height, c] as const))('%s to %ix%i: every level equal', (name, width, height, c) => {
    const source = fixture[name];
    const [, h, w, channels] = source.shape as [number, number, number, number];
    // ComfyUI's uint8 conversion: clip(255 * x) truncated; the inputs are whole levels / 255.
    const levels = Uint8Array.from(source.values, (v) => Math.trunc(Math.fround(255 * Math.fround(v))));
    const out = pilLanczos(levels, w, h, channels, width, height);
    expect([1, height, width, channels]).toEqual(c.out.shape);
    expect([...out]).toEqual(c.out.levels);
  });
});
