import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { Tensor } from '@uso-studio/runtime';
import { readPngTextChunks } from '@uso-studio/core';
import { catBatch, encodePng, expectImage, imageTensorFromRaw, imageTensorFromSharp, imageToRaw } from './tensor-io.ts';

describe('expectImage', () => {
  it('passes a 4-d tensor through and names the input otherwise', () => {
    const image = Tensor.float32([1, 2, 2, 3], new Float32Array(12));
    expect(expectImage(image, 'image')).toBe(image);
    expect(() => expectImage(Tensor.float32([2, 2, 3], new Float32Array(12)), 'image2')).toThrow('image2 must be an IMAGE [B, H, W, C]');
    expect(() => expectImage('not a tensor', 'image')).toThrow(TypeError);
  });
});

describe('imageToRaw', () => {
  it('truncates clip(255 * x) like numpy astype(uint8)', () => {
    // 0.999 * 255 = 254.745 -> 254 (truncated, not rounded); overshoot and negatives clip; NaN becomes 0.
    const t = Tensor.float32([1, 1, 2, 3], Float32Array.from([0.999, 1.5, -0.2, 0.5, 1, Number.NaN]));
    expect(Array.from(imageToRaw(t, 0).data)).toEqual([254, 255, 0, 127, 255, 0]);
  });

  it('picks the requested batch item and refuses bad indices and shapes', () => {
    const t = Tensor.float32([2, 1, 1, 3], Float32Array.from([0, 0, 0, 1, 1, 1]));
    expect(Array.from(imageToRaw(t, 1).data)).toEqual([255, 255, 255]);
    expect(() => imageToRaw(t, 2)).toThrow(RangeError);
    expect(() => imageToRaw(Tensor.float32([1, 1, 1, 5], new Float32Array(5)), 0)).toThrow(/1 to 4 channels/);
  });
});

describe('imageTensorFromSharp / imageTensorFromRaw', () => {
  it('divides by 255 in float32 and keeps [1, H, W, C]', async () => {
    const raw = Uint8Array.from([0, 51, 255, 10, 20, 30]);
    const t = await imageTensorFromSharp(sharp(raw, { raw: { width: 2, height: 1, channels: 3 } }));
    expect(t.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(t.data)).toEqual(Array.from(raw, (v) => Math.fround(v / 255)));
  });

  it('round-trips uint8 through a tensor', () => {
    const raw = { data: Uint8Array.from({ length: 12 }, (_, i) => i * 20), width: 2, height: 2, channels: 3 };
    expect(Array.from(imageToRaw(imageTensorFromRaw(raw), 0).data)).toEqual(Array.from(raw.data));
  });
});

describe('catBatch', () => {
  it('stacks along the batch axis and refuses mismatched shapes', () => {
    const a = Tensor.float32([1, 1, 2], Float32Array.from([1, 2]));
    const b = Tensor.float32([1, 1, 2], Float32Array.from([3, 4]));
    const c = catBatch([a, b]);
    expect(c.shape).toEqual([2, 1, 2]);
    expect(Array.from(c.data)).toEqual([1, 2, 3, 4]);
    expect(() => catBatch([a, Tensor.float32([1, 2, 1], Float32Array.from([1, 2]))])).toThrow(/cannot batch/);
  });
});

describe('encodePng', () => {
  it('writes a PNG sharp decodes back to the same pixels, with text chunks', async () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => (i % 7) / 6);
    const images = Tensor.float32([2, 3, 4, 3], data);
    const png = await encodePng(images, 1, { compressionLevel: 1, text: { prompt: '{"a":1}' } });
    const { data: back, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([4, 3, 3]);
    expect(Array.from(back)).toEqual(Array.from(imageToRaw(images, 1).data));
    expect(await readPngTextChunks(png)).toEqual({ prompt: '{"a":1}' });
  });

  it('keeps an alpha channel for 4-channel images', async () => {
    const images = Tensor.float32([1, 1, 1, 4], Float32Array.from([1, 0, 0, 0.5]));
    const { data, info } = await sharp(await encodePng(images, 0)).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect(Array.from(data)).toEqual([255, 0, 0, 127]);
  });
});
