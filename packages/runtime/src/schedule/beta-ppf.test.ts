import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { betaPpf, logGamma, regularizedIncompleteBeta } from './beta-ppf.ts';

// Quantiles from mpmath at 40 digits (scripts/make-reference-fixtures.py).
const fx = JSON.parse(readFileSync(new URL('./fixtures/schedules.json', import.meta.url), 'utf8')) as {
  beta_ppf: Array<{ q: number; a: number; b: number; x: number }>;
};

describe('betaPpf', () => {
  it('matches 40-digit quantiles to ~1e-12 relative, including the U-shaped a = b = 0.6', () => {
    for (const r of fx.beta_ppf) {
      const x = betaPpf(r.q, r.a, r.b);
      expect(Math.abs(x - r.x) / r.x, `q=${r.q} a=${r.a} b=${r.b}`).toBeLessThan(2e-12);
    }
  });

  it('inverts the regularized incomplete beta', () => {
    for (const q of [0.001, 0.2, 0.5, 0.8, 0.999]) {
      expect(regularizedIncompleteBeta(betaPpf(q, 0.6, 0.6), 0.6, 0.6)).toBeCloseTo(q, 13);
    }
  });

  it('handles the ends and the symmetric median exactly', () => {
    expect(betaPpf(0, 0.6, 0.6)).toBe(0);
    expect(betaPpf(1, 0.6, 0.6)).toBe(1);
    expect(betaPpf(0.5, 0.6, 0.6)).toBe(0.5);
    expect(() => betaPpf(1.5, 0.6, 0.6)).toThrow(/q in \[0, 1\]/);
  });

  it('has closed forms where they exist', () => {
    // Beta(1, 1) is uniform; Beta(2, 1) has CDF x^2.
    expect(betaPpf(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(betaPpf(0.25, 2, 1)).toBeCloseTo(0.5, 14);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
  });
});
