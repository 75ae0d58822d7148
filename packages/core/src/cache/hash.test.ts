import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, hashBytes, hashString } from './hash.ts';

describe('canonicalize', () => {
  it('is independent of object key order', () => {
    expect(canonicalize({ a: 1, b: [2, { c: 3, d: 4 }] }).text).toBe(canonicalize({ b: [2, { d: 4, c: 3 }], a: 1 }).text);
  });

  it('tells types apart', () => {
    const texts = [1, '1', true, 'true', null, 'null', undefined, [1], { 0: 1 }, -0, 0, 1n].map((v) => canonicalize(v).text);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('marks NaN (anywhere) unstable, since it never equals itself', () => {
    expect(canonicalize(Number.NaN).unstable).toBe(true);
    expect(canonicalize({ a: [1, Number.NaN] }).unstable).toBe(true);
    expect(canonicalize({ a: [1, 2] }).unstable).toBe(false);
  });

  it('describes typed arrays by content', () => {
    expect(canonicalize(new Float32Array([1, 2])).text).toBe(canonicalize(new Float32Array([1, 2])).text);
    expect(canonicalize(new Float32Array([1, 2])).text).not.toBe(canonicalize(new Float32Array([1, 3])).text);
    expect(canonicalize(new Float32Array([1])).text).not.toBe(canonicalize(new Int32Array(new Float32Array([1]).buffer)).text);
  });

  it('survives cyclic values, marking them unstable', () => {
    const value: Record<string, unknown> = { a: 1 };
    value['self'] = value;
    expect(canonicalize(value).unstable).toBe(true);
  });

  it('agrees with structural equality on JSON values (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(canonicalize(a).text === canonicalize(b).text).toBe(deepEqual(a, b));
        expect(canonicalize(a).text).toBe(canonicalize(structuredClone(a)).text);
      }),
      { numRuns: 300 },
    );
  });
});

function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return deepEqual(ka, kb) && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b);
}

describe('hashString', () => {
  it('gives 32 hex digits, deterministically', () => {
    expect(hashString('abc')).toMatch(/^[0-9a-f]{32}$/);
    expect(hashString('abc')).toBe(hashString('abc'));
  });

  it('changes with any single-character edit', () => {
    const base = 'TestAdd|a=@0123#0|b=5';
    const hashes = new Set([hashString(base)]);
    for (let i = 0; i < base.length; i++) hashes.add(hashString(base.slice(0, i) + String.fromCharCode(base.charCodeAt(i) ^ 1) + base.slice(i + 1)));
    expect(hashes.size).toBe(base.length + 1);
  });

  it('has no collisions among many distinct strings (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 40 }), { minLength: 50, maxLength: 200 }), (strings) => {
        expect(new Set(strings.map(hashString)).size).toBe(strings.length);
      }),
      { numRuns: 50 },
    );
  });

  it('hashBytes matches for equal bytes and differs otherwise', () => {
    expect(hashBytes(new Uint8Array([1, 2, 3]))).toBe(hashBytes(new Uint8Array([1, 2, 3])));
    expect(hashBytes(new Uint8Array([1, 2, 3]))).not.toBe(hashBytes(new Uint8Array([1, 2, 4])));
  });
});
