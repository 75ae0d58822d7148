import { describe, expect, it } from 'vitest';
import { targetMet } from '../../bench/target.ts';

describe('targetMet', () => {
  it('reads the comparison and the bound from the target text', () => {
    expect(targetMet('<= 5 µs/node', 3.8)).toBe(true);
    expect(targetMet('<= 5 µs/node', 5.1)).toBe(false);
    expect(targetMet('< 2000 ms', 2000)).toBe(false);
    expect(targetMet('>= 1000/s', 11364)).toBe(true);
    expect(targetMet('≥ 0.9 × N', 0.5)).toBe(false);
    expect(targetMet('>= 2,000/s', 2500)).toBe(true);
  });
  it('gives undefined for targets that are not a comparison', () => {
    expect(targetMet('about 48 ms for attention alone', 97)).toBeUndefined();
  });
});
