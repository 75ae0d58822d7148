import { describe, it, expect } from 'vitest';
import { sampleUso } from './uso-loop.ts';
import { usoSchedule } from '../schedule/uso-schedule.ts';

describe('sampleUso', () => {
  it('adds (t_next - t_curr) * v per step', async () => {
    const seen: number[] = [];
    const out = await sampleUso(
      async (x, t) => {
        seen.push(t);
        return new Float32Array(x.length).fill(3);
      },
      new Float32Array([10, 0]),
      [1, 0.5, 0],
    );
    expect(seen).toEqual([1, 0.5]);
    expect(Array.from(out)).toEqual([7, -3]);
  });

  it('recovers the data point of a straight flow (v = noise - data) over the USO schedule', async () => {
    const data = new Float32Array([0.3, -0.7, 1.2]);
    const noise = new Float32Array([1, 0.5, -2]);
    const v = noise.map((n, i) => n - data[i]!);
    const previews: number[] = [];
    const out = await sampleUso(async () => v, noise, usoSchedule(12, 512, 512, 'uso'), {
      callback: (s) => void previews.push(s.denoised[0]!),
    });
    out.forEach((x, i) => expect(x).toBeCloseTo(data[i]!, 5));
    // The x0 estimate x - t v is exact for a straight flow at every step.
    previews.forEach((p) => expect(p).toBeCloseTo(0.3, 5));
  });

  it('needs steps + 1 timesteps and honours abort', async () => {
    await expect(sampleUso(async (x) => x, new Float32Array(1), [1])).rejects.toThrow(/usoSchedule/);
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(sampleUso(async (x) => x, new Float32Array(1), [1, 0], { signal: ctrl.signal })).rejects.toThrow();
  });
});
