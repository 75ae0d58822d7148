import { describe, expect, it } from 'vitest';
import { MaskPainting, imageRefOfInputName } from './mask-painting.ts';

describe('MaskPainting', () => {
  it('paints a round dab: inside the radius masked, outside untouched', () => {
    const m = new MaskPainting(20, 20);
    m.dab(10, 10, { radius: 3, mode: 'paint' });
    expect(m.coverage[10 * 20 + 10]).toBe(255);
    expect(m.coverage[10 * 20 + 12]).toBe(255);
    expect(m.coverage[10 * 20 + 14]).toBe(0);
    expect(m.coverage[0]).toBe(0);
    // A disc of radius 3 covers about pi * 9 pixels.
    expect(m.maskedPixelCount()).toBeGreaterThan(24);
    expect(m.maskedPixelCount()).toBeLessThan(34);
  });

  it('leaves no gap along a fast stroke and erases with the same brush', () => {
    const m = new MaskPainting(100, 10);
    m.stroke([2, 5], [97, 5], { radius: 2, mode: 'paint' });
    for (let x = 2; x < 97; x++) expect(m.coverage[5 * 100 + x], `x=${x}`).toBe(255);
    m.stroke([20, 5], [40, 5], { radius: 3, mode: 'erase' });
    for (let x = 20; x < 40; x++) expect(m.coverage[5 * 100 + x]).toBe(0);
    expect(m.coverage[5 * 100 + 60]).toBe(255);
  });

  it('clips dabs at the edges', () => {
    const m = new MaskPainting(4, 4);
    m.dab(-1, -1, { radius: 3, mode: 'paint' });
    expect(m.coverage[0]).toBe(255);
    expect(m.coverage[15]).toBe(0);
  });

  it('writes alpha = 255 - coverage, so LoadImage reads the painted pixels as mask 1', () => {
    const m = new MaskPainting(2, 1);
    m.coverage[0] = 255;
    const rgba = m.toMaskImageRgba();
    expect(Array.from(rgba)).toEqual([0, 0, 0, 0, 0, 0, 0, 255]);
  });

  it('opens a picture with transparent pixels as painted, and inverts and clears', () => {
    const rgba = new Uint8ClampedArray([9, 9, 9, 0, 9, 9, 9, 255, 9, 9, 9, 128]);
    const m = MaskPainting.fromPictureAlpha(rgba, 3, 1);
    expect(Array.from(m.coverage)).toEqual([255, 0, 127]);
    m.invert();
    expect(Array.from(m.coverage)).toEqual([0, 255, 128]);
    m.clear();
    expect(m.maskedPixelCount()).toBe(0);
  });

  it('draws the overlay in the given colour at the given opacity', () => {
    const m = new MaskPainting(2, 1);
    m.coverage[1] = 255;
    expect(Array.from(m.toOverlayRgba([255, 0, 0], 0.5))).toEqual([255, 0, 0, 0, 255, 0, 0, 128]);
  });

  it('refuses impossible sizes and wrong byte counts', () => {
    expect(() => new MaskPainting(0, 3)).toThrow(RangeError);
    expect(() => MaskPainting.fromPictureAlpha(new Uint8Array(7), 1, 2)).toThrow(/expected 8 RGBA bytes/);
  });
});

describe('imageRefOfInputName', () => {
  it('splits subfolders and ComfyUI annotations', () => {
    expect(imageRefOfInputName('a.png')).toEqual({ filename: 'a.png', subfolder: '', type: 'input' });
    expect(imageRefOfInputName('clipspace/m.png [input]')).toEqual({ filename: 'm.png', subfolder: 'clipspace', type: 'input' });
    expect(imageRefOfInputName('x/y/o.png [output]')).toEqual({ filename: 'o.png', subfolder: 'x/y', type: 'output' });
  });
});
