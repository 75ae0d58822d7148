import { describe, it, expect } from 'vitest';
import { Tensor } from '../tensor/tensor.ts';
import { threePassTiles, tiledScale, tiledScaleThreePass } from './tiled-scale.ts';

/** Nearest x2 upsample of [1, C, h, w]: a purely local function, so any tiling must reproduce it exactly. */
async function nearest2(t: Tensor<'float32'>): Promise<Tensor<'float32'>> {
  const [, c, h, w] = t.shape as [number, number, number, number];
  const out = new Float32Array(c * 4 * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < 2 * h; y++) for (let x = 0; x < 2 * w; x++) out[(ch * 2 * h + y) * 2 * w + x] = t.data[(ch * h + (y >> 1)) * w + (x >> 1)]!;
  }
  return Tensor.float32([1, c, 2 * h, 2 * w], out);
}

function ramp(b: number, c: number, h: number, w: number): Tensor<'float32'> {
  return Tensor.float32([b, c, h, w], Float32Array.from({ length: b * c * h * w }, (_, i) => Math.sin(i * 0.37) + i * 1e-3));
}

describe('tiledScale', () => {
  it('reproduces a local function exactly, whatever the tiling (batch 2, ragged edges)', async () => {
    const x = ramp(2, 3, 13, 21);
    const whole = await nearest2(Tensor.float32([1, 3, 13, 21], x.data.slice(0, 3 * 13 * 21)));
    const tiled = await tiledScale(x, nearest2, { tileH: 6, tileW: 8, overlap: 2, scale: 2, outChannels: 3 });
    expect(tiled.shape).toEqual([2, 3, 26, 42]);
    const first = tiled.data.slice(0, whole.data.length);
    for (let i = 0; i < first.length; i++) expect(first[i]).toBeCloseTo(whole.data[i]!, 5);
    const three = await tiledScaleThreePass(x, nearest2, { tileH: 6, tileW: 8, overlap: 2, scale: 2, outChannels: 3 });
    for (let i = 0; i < first.length; i++) expect(three.data[i]).toBeCloseTo(whole.data[i]!, 5);
  });

  it('blends overlapping tiles with ComfyUI feather ramps', async () => {
    // Width 10, tiles of 6 with overlap 2: tiles start at 0 and 4; feather 2 gives ramps [0.5, 1, 1, 1, 1, 0.5].
    let calls = 0;
    const constant = async (t: Tensor<'float32'>) => Tensor.float32(t.shape, new Float32Array(t.size).fill(++calls * 10));
    const out = await tiledScale(Tensor.zeros([1, 1, 1, 10]), constant, { tileH: 6, tileW: 6, overlap: 2, scale: 1, outChannels: 1 });
    expect(calls).toBe(2);
    expect(out.data[0]).toBeCloseTo(10, 6);
    expect(out.data[3]).toBeCloseTo(10, 6);
    expect(out.data[4]).toBeCloseTo((10 * 1 + 20 * 0.5) / 1.5, 5);
    expect(out.data[5]).toBeCloseTo((10 * 0.5 + 20 * 1) / 1.5, 5);
    expect(out.data[9]).toBeCloseTo(20, 6);
  });

  it('runs an input that fits one tile as a whole, and downscales (encoder direction)', async () => {
    let calls = 0;
    const pool4 = async (t: Tensor<'float32'>) => {
      calls++;
      const [, c, h, w] = t.shape as [number, number, number, number];
      return Tensor.float32([1, c, h / 4, w / 4], new Float32Array((c * h * w) / 16).fill(h));
    };
    const small = await tiledScale(Tensor.zeros([1, 2, 8, 8]), pool4, { tileH: 8, tileW: 8, overlap: 4, scale: 0.25, outChannels: 2 });
    expect([calls, ...small.shape]).toEqual([1, 1, 2, 2, 2]);
    const big = await tiledScale(Tensor.zeros([1, 2, 16, 8]), pool4, { tileH: 8, tileW: 8, overlap: 4, scale: 0.25, outChannels: 2 });
    expect(big.shape).toEqual([1, 2, 4, 2]);
    expect(calls).toBe(1 + 3); // rows start at 0, 4, 8
  });

  it('refuses tiles no larger than the overlap, and names the three passes', async () => {
    await expect(tiledScale(Tensor.zeros([1, 1, 16, 16]), nearest2, { tileH: 4, tileW: 8, overlap: 4, scale: 2, outChannels: 1 })).rejects.toThrow(/larger than the overlap/);
    expect(threePassTiles(64, 64)).toEqual([{ tileH: 128, tileW: 32 }, { tileH: 32, tileW: 128 }, { tileH: 64, tileW: 64 }]);
  });
});
