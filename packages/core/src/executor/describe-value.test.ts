import { describe, expect, it } from 'vitest';
import { describeInputs, describeValue } from './describe-value.ts';

describe('describeValue', () => {
  it('passes scalars through and turns undefined into null', () => {
    expect([1, true, 'x', null, undefined].map(describeValue)).toEqual([1, true, 'x', null, null]);
  });

  it('describes tensors by shape and dtype instead of copying data', () => {
    class Tensor {
      shape = [1, 64, 64, 3];
      dtype = 'float32';
      data = new Float32Array(64 * 64 * 3);
    }
    expect(describeValue(new Tensor())).toBe('Tensor(shape=[1, 64, 64, 3], dtype=float32)');
    expect(describeValue(new Float32Array(4))).toBe('Float32Array(16 bytes)');
  });

  it('keeps small objects as JSON and cuts long strings', () => {
    expect(describeValue({ samples: 1 })).toBe('{"samples":1}');
    expect(String(describeValue('x'.repeat(5000))).length).toBeLessThan(1100);
  });

  it('survives cyclic objects', () => {
    const value: Record<string, unknown> = { a: 1 };
    value['self'] = value;
    expect(describeValue(value)).toBe('Object{a, self}');
  });

  it('describes every element of each input list', () => {
    expect(describeInputs({ a: [1, new Uint8Array(2)] })).toEqual({ a: [1, 'Uint8Array(2 bytes)'] });
  });
});
