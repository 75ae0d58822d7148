import { describe, it, expect, afterAll } from 'vitest';
import { Tensor, resizeImage } from '@uso-studio/runtime';
import { imageScale, imageScaleSize, imageScaleToMaxDimension, maxDimensionSize, upscaleImage } from './image-scale.ts';
import { fakeContext, makeTempEnv } from './test-context.ts';

const env = makeTempEnv();
const ctx = fakeContext(env);
afterAll(() => env.cleanup());

/** [1, H, W, 3] with value (y * W + x) / (H * W) in every channel. */
function ramp(h: number, w: number): Tensor<'float32'> {
  const data = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++) data.fill(i / (h * w), i * 3, i * 3 + 3);
  return Tensor.float32([1, h, w, 3], data);
}

const run = async (node: typeof imageScale, inputs: Record<string, unknown>) =>
  ((await node.execute(inputs, ctx)).outputs as [Tensor<'float32'>])[0];

describe('size rules', () => {
  it('ImageScale keeps the aspect for a 0 side with Python rounding, at least 1', () => {
    expect(imageScaleSize(5, 2, 0, 1)).toEqual({ width: 2, height: 1 }); // round(2.5) = 2, not 3
    expect(imageScaleSize(640, 480, 320, 0)).toEqual({ width: 320, height: 240 });
    expect(imageScaleSize(1, 1000, 0, 1)).toEqual({ width: 1, height: 1 }); // max(1, round(0.001))
  });

  it('ImageScaleToMaxDimension sets the longer side and rounds the other half to even (reference §10)', () => {
    expect(maxDimensionSize(1000, 600, 512)).toEqual({ width: 512, height: 307 }); // 307.2
    expect(maxDimensionSize(600, 1000, 512)).toEqual({ width: 307, height: 512 });
    expect(maxDimensionSize(8, 5, 4)).toEqual({ width: 4, height: 2 }); // round(2.5) = 2
    expect(maxDimensionSize(8, 7, 4)).toEqual({ width: 4, height: 4 }); // round(3.5) = 4
    expect(maxDimensionSize(300, 300, 512)).toEqual({ width: 512, height: 512 });
  });
});

describe('ImageScale', () => {
  it('resizes with the torch mode asked for', async () => {
    const image = ramp(4, 6);
    const out = await run(imageScale, { image, upscale_method: 'bilinear', width: 3, height: 2, crop: 'disabled' });
    expect(out.shape).toEqual([1, 2, 3, 3]);
    expect(Array.from(out.data)).toEqual(Array.from(resizeImage(image, 3, 2, 'bilinear').data));
  });

  it('returns the input untouched for width = height = 0, and keeps the aspect for one 0', async () => {
    const image = ramp(4, 6);
    expect(await run(imageScale, { image, upscale_method: 'area', width: 0, height: 0, crop: 'disabled' })).toBe(image);
    const out = await run(imageScale, { image, upscale_method: 'area', width: 3, height: 0, crop: 'disabled' });
    expect(out.shape).toEqual([1, 2, 3, 3]);
  });

  it('crops the centre before resizing with crop = center', async () => {
    // 4 high x 8 wide to 2x2: x = round((8 - 8 * (1 / 2)) / 2) = 2 -> columns 2..5, then 2x2 block means.
    const image = ramp(4, 8);
    const out = await run(imageScale, { image, upscale_method: 'area', width: 2, height: 2, crop: 'center' });
    const v = (y: number, x: number) => (y * 8 + x) / 32;
    const block = (y: number, x: number) => (v(y, x) + v(y, x + 1) + v(y + 1, x) + v(y + 1, x + 1)) / 4;
    const expected = [block(0, 2), block(0, 4), block(2, 2), block(2, 4)];
    expect(out.shape).toEqual([1, 2, 2, 3]);
    for (let i = 0; i < 4; i++) expect(out.data[i * 3]).toBeCloseTo(expected[i]!, 6);
  });

  it('resizes with lanczos through uint8, keeping flat colours exact', async () => {
    const flat = Tensor.float32([2, 5, 7, 3], new Float32Array(2 * 5 * 7 * 3).fill(100 / 255));
    const up = await upscaleImage(flat, 13, 9, 'lanczos');
    expect(up.shape).toEqual([2, 9, 13, 3]);
    expect(up.data.every((v) => v === Math.fround(100 / 255))).toBe(true);
    // A 1-pixel checkerboard shrunk 2x averages to mid-grey; lanczos keeps it close.
    const data = new Float32Array(8 * 8 * 3);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data.fill((x + y) % 2, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3);
    const down = await upscaleImage(Tensor.float32([1, 8, 8, 3], data), 4, 4, 'lanczos');
    for (const value of down.data) expect(Math.abs(value - 0.5)).toBeLessThan(0.1);
  });

  it('refuses an unknown method', async () => {
    await expect(upscaleImage(ramp(2, 2), 1, 1, 'bislerp' as 'area')).rejects.toThrow(/Unknown upscale_method/);
  });
});

describe('ImageScaleToMaxDimension', () => {
  it('scales the longer side to largest_size', async () => {
    const out = await run(imageScaleToMaxDimension, { image: ramp(6, 10), upscale_method: 'area', largest_size: 5 });
    expect(out.shape).toEqual([1, 3, 5, 3]);
    expect(Array.from(out.data)).toEqual(Array.from(resizeImage(ramp(6, 10), 5, 3, 'area').data));
  });

  it('declares ComfyUI’s option list (with its repeated bilinear) and default', () => {
    const inputs = imageScaleToMaxDimension.inputs.required!;
    expect(inputs['upscale_method']!.options).toEqual(['area', 'lanczos', 'bilinear', 'nearest-exact', 'bilinear', 'bicubic']);
    expect(inputs['largest_size']!.default).toBe(512);
  });
});
