import { describe, it, expect } from 'vitest';
import { fromOrtTensor, toOrtTensor } from './tensor-convert.ts';
import { loadOrt } from './ort.ts';
import { Tensor } from '../tensor/tensor.ts';

describe('tensor conversion', () => {
  it('wraps without copying in both directions, for every Tensor dtype', async () => {
    const ort = await loadOrt();
    const cases = [
      new Tensor('float32', [2], new Float32Array([1.5, -2])),
      new Tensor('float16', [2], new Uint16Array([0x3c00, 0xc000])),
      new Tensor('int64', [1, 2], new BigInt64Array([3n, -4n])),
      new Tensor('int32', [2], new Int32Array([5, 6])),
      new Tensor('uint8', [2], new Uint8Array([7, 8])),
    ];
    for (const t of cases) {
      const o = toOrtTensor(ort, t);
      expect(o.type).toBe(t.dtype);
      expect(o.dims).toEqual(t.shape);
      expect(o.data).toBe(t.data);
      const back = fromOrtTensor(o);
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(back.data).toEqual(t.data);
    }
  });

  it('maps bool to uint8 and refuses types the project has no Tensor for', async () => {
    const ort = await loadOrt();
    const b = fromOrtTensor(new ort.Tensor('bool', new Uint8Array([1, 0]), [2]));
    expect(b.dtype).toBe('uint8');
    expect([...(b.data as Uint8Array)]).toEqual([1, 0]);
    expect(() => fromOrtTensor(new ort.Tensor('float64', new Float64Array([1]), [1]), 'velocity')).toThrow(
      /output 'velocity' has type float64/,
    );
  });
});
