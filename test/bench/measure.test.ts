/** The shared bench timing helpers (bench/measure.ts): call counts and the percentile rule. No timing is asserted. */
import { describe, expect, it } from 'vitest';
import { bestMs, opsPerSecond, percentile } from '../../bench/measure.ts';

describe('percentile', () => {
  it('picks the nearest rank below, clamped to the largest value, without reordering the input', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 99)).toBe(5);
    expect(percentile(values, 100)).toBe(5);
    expect(percentile([10, 20, 30, 40], 50)).toBe(30);
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });
});

describe('bestMs', () => {
  it('makes the warm-up calls and then the timed rounds, awaiting each', async () => {
    let calls = 0;
    let inFlight = 0;
    const ms = await bestMs(
      async () => {
        inFlight++;
        expect(inFlight).toBe(1);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        calls++;
      },
      { warmup: 2, rounds: 3 },
    );
    expect(calls).toBe(5);
    expect(ms).toBeGreaterThan(0);
  });

  it('defaults to one warm-up call and five rounds', async () => {
    let calls = 0;
    await bestMs(() => void calls++);
    expect(calls).toBe(6);
  });
});

describe('opsPerSecond', () => {
  it('runs whole batches after the warm-up and reports a positive rate', async () => {
    let calls = 0;
    const rate = await opsPerSecond(() => void calls++, { warmup: 7, batch: 10, rounds: 2, roundMs: 5 });
    expect(rate).toBeGreaterThan(0);
    expect((calls - 7) % 10).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(7 + 2 * 10);
  });

  it('awaits each call with awaitEach, and not without it', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = () => {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise<void>((r) => setTimeout(() => r(void inFlight--), 0));
    };
    await opsPerSecond(slow, { warmup: 1, batch: 3, rounds: 1, roundMs: 1, awaitEach: true });
    expect(most).toBe(1);
    await opsPerSecond(slow, { warmup: 0, batch: 3, rounds: 1, roundMs: 1 });
    expect(most).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 5)); // let the un-awaited calls settle
  });
});
