import { describe, it, expect } from 'vitest';
import { decodeImage } from '@uso-studio/nodes-image';
import { latentPreview, latentPreviewImage } from './preview.ts';

describe('latent previews', () => {
  it("map FLUX latents to RGB with ComfyUI's factors, one pixel per latent pixel, as PNG", async () => {
    const zero = latentPreviewImage(new Float32Array(16 * 2 * 3), [1, 16, 2, 3]);
    expect(zero.shape).toEqual([1, 2, 3, 3]);
    // Zero latent -> (bias + 1) / 2.
    expect(zero.data[0]).toBeCloseTo((-0.0329 + 1) / 2, 6);
    expect(zero.data[2]).toBeCloseTo((-0.0851 + 1) / 2, 6);
    const one = new Float32Array(16 * 4);
    one.fill(1, 0, 4); // channel 0 = 1
    expect(latentPreviewImage(one, [1, 16, 2, 2]).data[0]).toBeCloseTo((-0.0329 - 0.0346 + 1) / 2, 6);
    const png = await latentPreview(one, [1, 16, 2, 2]);
    expect(png.format).toBe('PNG');
    expect(Array.from(png.bytes.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    // The PNG decodes to the preview image, rounded to 8 bits.
    const { image } = await decodeImage(png.bytes, 'preview.png');
    expect(image.shape).toEqual([1, 2, 2, 3]);
    const expected = latentPreviewImage(one, [1, 16, 2, 2]);
    for (let i = 0; i < image.size; i++) expect(Math.round(image.data[i]! * 255)).toBe(Math.round(expected.data[i]! * 255));
  });
});
