import { describe, expect, it } from 'vitest';
import { nextSeed } from './seed-control.ts';

const range = { min: 0, max: 100, step: 1 };

describe('nextSeed', () => {
  it('keeps a fixed seed', () => expect(nextSeed(42, 'fixed', range)).toBe(42));
  it('increments and wraps at max', () => {
    expect(nextSeed(42, 'increment', range)).toBe(43);
    expect(nextSeed(100, 'increment', range)).toBe(0);
  });
  it('decrements and wraps at min', () => {
    expect(nextSeed(42, 'decrement', range)).toBe(41);
    expect(nextSeed(0, 'decrement', range)).toBe(100);
  });
  it('randomizes within the range, on the step grid', () => {
    expect(nextSeed(42, 'randomize', range, () => 0)).toBe(0);
    expect(nextSeed(42, 'randomize', range, () => 0.999999)).toBe(100);
    expect(nextSeed(42, 'randomize', { min: 0, max: 100, step: 10 }, () => 0.55)).toBe(60);
  });
  it('caps random 64-bit seeds where JS numbers stay exact', () => {
    const seed = nextSeed(1, 'randomize', { min: 0, max: 0xffffffffffffffff, step: 1 }, () => 0.999999999);
    expect(Number.isSafeInteger(seed)).toBe(true);
  });
  it('ignores unknown modes', () => expect(nextSeed(7, 'sideways', range)).toBe(7));
});
