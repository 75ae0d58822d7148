import { describe, it, expect } from 'vitest';
import { Tensor } from '../tensor/tensor.ts';
import { TORCH_RESIZE_MODES, cropCenterToAspect, cropImage, resizeImage, roundHalfEven } from './resize.ts';

/** A single-channel image [1, 1, W, 1] holding one row of values. */
const row = (values: number[]) => Tensor.float32([1, 1, values.length, 1], Float32Array.from(values));
/** A single-channel image [1, H, 1, 1] holding one column. */
const column = (values: number[]) => Tensor.float32([1, values.length, 1, 1], Float32Array.from(values));
const values = (t: Tensor<'float32'>) => Array.from(t.data);

describe('resizeImage: hand-checked values (torch.nn.functional.interpolate semantics)', () => {
  it('bilinear 2 -> 4 (align_corners=False clamps the left source index to 0)', () => {
    // src = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> 0, 0.25, 0.75, 1 (last clamped to the edge).
    expect(values(resizeImage(row([0, 1]), 4, 1, 'bilinear'))).toEqual([0, 0.25, 0.75, 1]);
  });

  it('bilinear 4 -> 2 averages the pair around each sample, without antialias', () => {
    // src = 0.5 and 2.5: (1 + 2) / 2 and (3 + 4) / 2.
    expect(values(resizeImage(row([1, 2, 3, 4]), 2, 1, 'bilinear'))).toEqual([1.5, 3.5]);
    // 6 -> 2: src = 1 and 4 exactly: no mixing of the neighbours, unlike an antialiased filter.
    expect(values(resizeImage(row([0, 10, 20, 30, 40, 50]), 2, 1, 'bilinear'))).toEqual([10, 40]);
  });

  it('nearest-exact 3 -> 2 and 2 -> 5 use floor((o + 0.5) * scale)', () => {
    // scale 1.5: floor(0.75) = 0, floor(2.25) = 2 (legacy 'nearest' would give index 1).
    expect(values(resizeImage(row([10, 20, 30]), 2, 1, 'nearest-exact'))).toEqual([10, 30]);
    // scale 0.4: floor(0.2, 0.6, 1.0, 1.4, 1.8) = 0, 0, 1, 1, 1.
    expect(values(resizeImage(row([7, 9]), 5, 1, 'nearest-exact'))).toEqual([7, 7, 9, 9, 9]);
  });

  it('area is adaptive average pooling over [floor(o*n/m), ceil((o+1)*n/m))', () => {
    // 5 -> 2: windows [0, 3) and [2, 5) overlap at index 2.
    expect(values(resizeImage(row([1, 2, 3, 4, 5]), 2, 1, 'area'))).toEqual([2, 4]);
    // 2 -> 3: windows [0,1), [0,2), [1,2).
    expect(values(resizeImage(row([0, 1]), 3, 1, 'area'))).toEqual([0, 0.5, 1]);
  });

  it('bicubic 2 -> 4 uses A = -0.75, clamps indices and does not clamp values', () => {
    // o=0: src=-0.25, t=0.75; only the tap at +2 (weight W(1.25) = -0.10546875) reads the value 1.
    // o=1: src=0.25, t=0.25; taps +1 and +2 read 1: W(0.75) + W(1.75) = 0.26171875 - 0.03515625.
    const out = values(resizeImage(row([0, 1]), 4, 1, 'bicubic'));
    expect(out[0]).toBeCloseTo(-0.10546875, 7);
    expect(out[1]).toBeCloseTo(0.2265625, 7);
    expect(out[2]).toBeCloseTo(0.7734375, 7);
    expect(out[3]).toBeCloseTo(1.10546875, 7);
  });

  it('applies the same rules along the height axis', () => {
    expect(values(resizeImage(column([0, 1]), 1, 4, 'bilinear'))).toEqual([0, 0.25, 0.75, 1]);
    expect(values(resizeImage(column([1, 2, 3, 4, 5]), 1, 2, 'area'))).toEqual([2, 4]);
  });
});

describe('resizeImage: structure', () => {
  it('keeps a constant image constant in every mode', () => {
    const img = Tensor.float32([2, 5, 7, 3], new Float32Array(2 * 5 * 7 * 3).fill(0.375));
    for (const mode of TORCH_RESIZE_MODES) {
      const out = resizeImage(img, 11, 3, mode);
      expect(out.shape).toEqual([2, 3, 11, 3]);
      for (const v of out.data) expect(v).toBeCloseTo(0.375, 6);
    }
  });

  it('keeps channels and batch items apart', () => {
    // [2, 2, 2, 2]: batch 0 channel 0 = 0, channel 1 = 1; batch 1 channel 0 = 2, channel 1 = 3.
    const data = new Float32Array(16);
    for (let i = 0; i < 16; i++) data[i] = (i >= 8 ? 2 : 0) + (i % 2);
    const out = resizeImage(Tensor.float32([2, 2, 2, 2], data), 3, 3, 'bicubic');
    expect(out.shape).toEqual([2, 3, 3, 2]);
    for (let i = 0; i < out.size; i++) expect(out.data[i]).toBeCloseTo((i >= 18 ? 2 : 0) + (i % 2), 5);
  });

  it('downscales 2D by integer factors in area mode to block means', () => {
    // 4x4 with value = y*4 + x; 2x2 blocks average to the block centre's value.
    const img = Tensor.float32([1, 4, 4, 1], Float32Array.from({ length: 16 }, (_, i) => i));
    expect(values(resizeImage(img, 2, 2, 'area'))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('returns the input for an unchanged size and refuses bad sizes', () => {
    const img = row([1, 2]);
    expect(resizeImage(img, 2, 1, 'bicubic')).toBe(img);
    expect(() => resizeImage(img, 0, 1, 'area')).toThrow(RangeError);
    expect(() => resizeImage(Tensor.float32([2], new Float32Array(2)), 1, 1, 'area')).toThrow(/\[B, H, W, C\]/);
  });
});

describe('cropCenterToAspect', () => {
  it('trims the width of a wide image to the target aspect (common_upscale crop="center")', () => {
    // 1x6 (w=6, h=1) to aspect 4:1: x = round((6 - 6 * (4 / 6)) / 2) = 1.
    const out = cropCenterToAspect(row([0, 1, 2, 3, 4, 5]), 4, 1);
    expect(values(out)).toEqual([1, 2, 3, 4]);
  });

  it('trims the height of a tall image and rounds half to even', () => {
    // h=6, w=1 to aspect 1:1 -> y = round((6 - 6 * ((1 / 6) / 1)) / 2) = round(2.5) = 2 -> rows 2..3
    // (rounding half up would leave no rows at all).
    expect(values(cropCenterToAspect(column([0, 1, 2, 3, 4, 5]), 1, 1))).toEqual([2, 3]);
    // h=5, w=1 to aspect 1:2 -> y = round(1.5) = 2 -> row 2 only.
    expect(values(cropCenterToAspect(column([0, 1, 2, 3, 4]), 1, 2))).toEqual([2]);
  });

  it('leaves an image with the target aspect alone', () => {
    const img = row([1, 2]);
    expect(cropCenterToAspect(img, 4, 2)).toBe(img);
  });

  it('cropImage refuses regions outside the image', () => {
    expect(() => cropImage(row([1, 2]), 1, 0, 2, 1)).toThrow(RangeError);
  });
});

describe('roundHalfEven', () => {
  it('rounds like Python', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, -0.5, -1.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 0, -2]);
  });
});
