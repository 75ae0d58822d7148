import { describe, expect, it } from 'vitest';
import { toCloneable } from './cloneable.ts';

describe('toCloneable', () => {
  it('drops functions, describes typed arrays, stringifies bigints and breaks cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const out = toCloneable({ f: () => 1, t: new Float32Array(4), n: 10n, c: cyclic }) as Record<string, unknown>;
    expect(out).toEqual({ t: { type: 'Float32Array', length: 16 }, n: '10', c: { a: 1, self: '[Circular]' } });
    expect(() => structuredClone(out)).not.toThrow();
  });
});
