import { describe, it, expect } from 'vitest';
import { byteSizeOf } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import { expectDescriptor, modelDescriptor, vaeDescriptor, withModel } from './descriptors.ts';

describe('descriptors', () => {
  it('are frozen, and changes give new descriptors with sizes that count their tensors', () => {
    const m = modelDescriptor('/m/a.safetensors', 'a.safetensors');
    expect(Object.isFrozen(m)).toBe(true);
    const style = Tensor.zeros([1, 4, 8]);
    const s = withModel(m, { styles: [style] });
    expect(s).not.toBe(m);
    expect(m.styles).toEqual([]);
    expect(s.byteSize).toBe(m.byteSize + style.byteSize);
    expect(byteSizeOf(s)).toBe(s.byteSize);
    expect(Object.isFrozen(s.styles)).toBe(true);
  });

  it('check socket values with a clear message', () => {
    expect(() => expectDescriptor(vaeDescriptor('/v', 'v'), 'MODEL', 'model')).toThrow("input 'model' must be a MODEL, got VAE");
    expect(() => expectDescriptor(null, 'VAE', 'vae')).toThrow(/is the loader connected/);
  });
});
