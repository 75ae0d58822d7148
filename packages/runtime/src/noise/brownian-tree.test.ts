import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { BrownianTree, roundTo6Decimals } from './brownian-tree.ts';

// Own torch 1.13 reference of torchsde's BrownianTree with numpy's SeedSequence (scripts/make-sde-fixtures.py).
const fx = JSON.parse(readFileSync(new URL('./fixtures/brownian-tree.json', import.meta.url), 'utf8')) as {
  shape: number[];
  t0: number;
  t1: number;
  trees: Array<{ seed: string; queries: Array<{ ta: number; tb: number; f32: string }> }>;
};

function decode(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

const n = fx.shape.reduce((a, b) => a * b, 1);

describe('BrownianTree vs the torch reference', () => {
  it('gives the reference increments bit for bit', () => {
    for (const t of fx.trees) {
      const tree = new BrownianTree(fx.t0, fx.t1, n, BigInt(t.seed));
      for (const q of t.queries) {
        expect(Array.from(tree.increment(q.ta, q.tb)), `seed ${t.seed} [${q.ta}, ${q.tb}]`).toEqual(Array.from(decode(q.f32)));
      }
    }
  });

  it('does not depend on query order or on the cache', () => {
    const t = fx.trees[1]!;
    const tree = new BrownianTree(fx.t0, fx.t1, n, BigInt(t.seed), undefined, 1);
    for (const q of [...t.queries].reverse()) {
      expect(Array.from(tree.increment(q.ta, q.tb))).toEqual(Array.from(decode(q.f32)));
    }
    // The same interval twice gives the same values.
    expect(Array.from(tree.increment(0.2, 0.6))).toEqual(Array.from(tree.increment(0.2, 0.6)));
  });
});

describe('BrownianTree statistics', () => {
  // 20000 coordinates: the sample variance of N(0, v) is within 4 % of v with overwhelming probability
  // (its standard error is v sqrt(2 / 20000) = 1 % of v), and the correlation of independent ones within 0.04.
  const len = 20000;
  const tree = new BrownianTree(0.03, 1, len, 12345n);
  const variance = (a: Float32Array) => a.reduce((s, v) => s + v * v, 0) / a.length;
  const correlation = (a: Float32Array, b: Float32Array) => {
    let ab = 0;
    for (let k = 0; k < a.length; k++) ab += a[k]! * b[k]!;
    return ab / a.length / Math.sqrt(variance(a) * variance(b));
  };

  it('has variance tb - ta on intervals of any size', () => {
    for (const [a, b] of [[0.03, 1], [0.5, 0.9], [0.1, 0.1003], [0.25, 0.75], [0.987654, 0.999]] as const) {
      expect(variance(tree.increment(a, b)) / (b - a), `[${a}, ${b}]`).toBeGreaterThan(0.96);
      expect(variance(tree.increment(a, b)) / (b - a), `[${a}, ${b}]`).toBeLessThan(1.04);
    }
  });

  it('has independent increments over disjoint intervals that add up', () => {
    const w1 = tree.increment(0.2, 0.45);
    const w2 = tree.increment(0.45, 0.8);
    expect(Math.abs(correlation(w1, w2))).toBeLessThan(0.04);
    const whole = tree.increment(0.2, 0.8);
    for (let k = 0; k < len; k += 97) expect(whole[k]).toBeCloseTo(w1[k]! + w2[k]!, 5);
  });

  it('gives zero for an empty interval, clamps to [t0, t1] and refuses reversed queries', () => {
    expect(tree.increment(0.4, 0.4).every((v) => v === 0)).toBe(true);
    expect(Array.from(tree.increment(0, 2))).toEqual(Array.from(tree.increment(0.03, 1)));
    expect(() => tree.increment(0.6, 0.5)).toThrow(/ta <= tb/);
    expect(() => new BrownianTree(1, 0.5, 4, 0)).toThrow(/t0 <= t1/);
    expect(Array.from(new BrownianTree(0.5, 0.5, 3, 0).increment(0.2, 0.7))).toEqual([0, 0, 0]);
  });

  it("rounds times like Python's round(t, 6), ties to even", () => {
    expect(roundTo6Decimals(1 / 128)).toBe(0.007812); // 7812.5e-6 exactly
    expect(roundTo6Decimals(3 / 128)).toBe(0.023438); // 23437.5e-6 exactly
    expect(roundTo6Decimals(-1 / 128)).toBe(-0.007812);
    expect(roundTo6Decimals(0.0291)).toBe(0.0291);
    expect(roundTo6Decimals(Math.fround(0.0291))).toBe(0.0291);
    // Values as Python 3.11 rounds them: 0.1234565 is stored just below the tie, 0.2500005 just above.
    expect(roundTo6Decimals(0.1234565)).toBe(0.123456);
    expect(roundTo6Decimals(0.2500005)).toBe(0.250001);
    expect(roundTo6Decimals(5 / 128)).toBe(0.039062);
  });
});
