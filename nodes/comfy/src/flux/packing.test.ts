import { describe, it, expect } from 'vitest';
import { comfyReferenceIds, gridIds, packLatent, tokenLength, unpackLatent, usoReferenceIds } from './packing.ts';

describe('packLatent / unpackLatent', () => {
  it('pack 2x2 patches channel-major (feature = c*4 + dy*2 + dx) and unpack back', () => {
    const [b, c, h, w] = [2, 3, 4, 6];
    const x = Float32Array.from({ length: b * c * h * w }, (_, i) => i);
    const tokens = packLatent(x, b, c, h, w);
    expect(tokens.length).toBe(b * 2 * 3 * c * 4);
    // Batch 1, token (row 1, col 2), channel 2, dy 1, dx 0 -> x[1, 2, 3, 4].
    const t = (1 * 6 + 1 * 3 + 2) * 12 + 2 * 4 + 1 * 2 + 0;
    expect(tokens[t]).toBe(((1 * c + 2) * h + 3) * w + 4);
    expect(Array.from(unpackLatent(tokens, b, c, h, w))).toEqual(Array.from(x));
  });

  it('pad odd sizes circularly and crop them off again', () => {
    const x = Float32Array.from({ length: 3 * 3 }, (_, i) => i); // [1, 1, 3, 3]
    const tokens = packLatent(x, 1, 1, 3, 3); // 2x2 tokens of 4
    expect(Array.from(tokens.subarray(4, 8))).toEqual([2, 0, 5, 3]); // token (0, 1): cols 2 and wrap to 0
    expect(Array.from(tokens.subarray(8, 12))).toEqual([6, 7, 0, 1]); // token (1, 0): row 2 and wrap to row 0
    expect(Array.from(unpackLatent(tokens, 1, 1, 3, 3))).toEqual(Array.from(x));
    expect(tokenLength(3)).toBe(2);
  });
});

describe('reference ids', () => {
  const ids = (a: Float32Array) => Array.from({ length: a.length / 3 }, (_, i) => Array.from(a.subarray(i * 3, i * 3 + 3)));

  it('grid ids count rows and columns from the offsets', () => {
    expect(ids(gridIds(2, 2, 1, 3, 4))).toEqual([[1, 3, 4], [1, 3, 5], [1, 4, 4], [1, 4, 5]]);
  });

  it('follow ComfyUI: offset, index and uxo', () => {
    const target = { h: 8, w: 8 }; // 4x4 tokens
    const refs = [{ h: 4, w: 6 }, { h: 2, w: 2 }];
    // offset: first ref (4 + 0 > 6 + 0 is false) goes below (h_off = 0), then h = 4, w = 6; second: 2 + 4 > 2 + 6? no -> h_off = 4.
    const off = comfyReferenceIds(target, refs, 'offset');
    expect(ids(off[0]!)[0]).toEqual([1, 0, 0]);
    expect(ids(off[1]!)[0]).toEqual([1, 2, 0]);
    // index: axis0 counts up, no offsets.
    const idx = comfyReferenceIds(target, refs, 'index');
    expect([ids(idx[0]!)[0], ids(idx[1]!)[0]]).toEqual([[1, 0, 0], [2, 0, 0]]);
    // uxo: diagonal, starting at the target's token size (pixels 2*4 = 8 -> token 4), growing by each reference.
    const uxo = comfyReferenceIds(target, refs, 'uxo');
    expect(ids(uxo[0]!)[0]).toEqual([0, 4, 4]);
    expect(ids(uxo[1]!)[0]).toEqual([0, 6, 7]); // (8 + 4 + 1) // 2 = 6, (8 + 6 + 1) // 2 = 7
  });

  it("follow USO's placements d, h, w, o", () => {
    const target = { h: 8, w: 8 };
    const refs = [{ h: 4, w: 4 }, { h: 4, w: 4 }];
    const first = (p: 'd' | 'h' | 'w' | 'o') => usoReferenceIds(target, refs, p).map((a) => Array.from(a.subarray(0, 3)));
    expect(first('d')).toEqual([[0, 4, 4], [0, 6, 6]]);
    expect(first('h')).toEqual([[0, 4, 0], [0, 6, 0]]);
    expect(first('w')).toEqual([[0, 0, 4], [0, 0, 6]]);
    expect(first('o')).toEqual([[0, 0, 0], [0, 0, 0]]);
  });
});
