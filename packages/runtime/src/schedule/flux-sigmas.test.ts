import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fluxSigmaTable, fluxTimeShift, percentToSigma, FLUX_TABLE_SIZE } from './flux-sigmas.ts';

// torch 1.13 CPU values from scripts/make-reference-fixtures.py.
const fx = JSON.parse(readFileSync(new URL('./fixtures/schedules.json', import.meta.url), 'utf8')) as {
  table_f32: string;
  percent_to_sigma: Array<{ percent: number; sigma: number }>;
};

describe('fluxSigmaTable', () => {
  it('equals ModelSamplingFlux(shift 1.15).sigmas bit for bit (all 10000 entries)', () => {
    const buf = Buffer.from(fx.table_f32, 'base64');
    const ref = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const table = fluxSigmaTable();
    expect(table.length).toBe(FLUX_TABLE_SIZE);
    const mismatches: number[] = [];
    for (let i = 0; i < FLUX_TABLE_SIZE; i++) if (table[i] !== ref[i]) mismatches.push(i);
    expect(mismatches).toEqual([]);
    expect(table[FLUX_TABLE_SIZE - 1]).toBe(1);
    expect(table[0]).toBeCloseTo(3.1575e-4, 7);
  });

  it('is cached per shift and differs for another shift', () => {
    expect(fluxSigmaTable()).toBe(fluxSigmaTable(1.15));
    expect(fluxSigmaTable(3)[5000]).not.toBe(fluxSigmaTable()[5000]);
  });
});

describe('percentToSigma', () => {
  it('matches ModelSamplingFlux.percent_to_sigma', () => {
    // Node's Math.exp may differ from glibc's by one double ulp; the float32 comparisons that use it cannot tell.
    for (const { percent, sigma } of fx.percent_to_sigma) expect(Math.abs(percentToSigma(percent) - sigma)).toBeLessThan(1e-15);
    expect(percentToSigma(-1)).toBe(1);
    expect(percentToSigma(2)).toBe(0);
    expect(() => percentToSigma(NaN)).toThrow(/\[0, 1\]/);
  });

  it('is the double-precision shift of 1 - percent', () => {
    expect(percentToSigma(0.3)).toBe(fluxTimeShift(1.15, 1, 0.7));
  });
});
