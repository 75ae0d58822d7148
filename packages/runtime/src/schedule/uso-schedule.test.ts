import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { usoMu, usoSchedule, usoSequenceLength, type UsoScheduleMode } from './uso-schedule.ts';

// torch 1.13: linspace(1, 0, steps + 1) then time_shift, as USO's get_schedule does.
const fx = JSON.parse(readFileSync(new URL('./fixtures/schedules.json', import.meta.url), 'utf8')) as {
  uso: Array<{ steps: number; width: number; height: number; mode: UsoScheduleMode; timesteps: number[] }>;
};

describe('usoSchedule', () => {
  it('equals torch for both modes, bit for bit', () => {
    for (const u of fx.uso) {
      expect(usoSchedule(u.steps, u.width, u.height, u.mode), `${u.mode} ${u.steps} ${u.width}x${u.height}`).toEqual(
        u.timesteps,
      );
    }
  });

  it('uses L = 64 (mu ~0.4675) for USO and L = 4096 (mu 1.15) for Flux at 1024x1024', () => {
    expect(usoSequenceLength(1024, 1024, 'uso')).toBe(64);
    expect(usoSequenceLength(1024, 1024, 'flux')).toBe(4096);
    expect(usoMu(64)).toBeCloseTo(0.4675, 12);
    expect(usoMu(4096)).toBeCloseTo(1.15, 12);
    const uso = usoSchedule(25, 1024, 1024, 'uso');
    const flux = usoSchedule(25, 1024, 1024, 'flux');
    expect(uso).toHaveLength(26);
    expect(uso[0]).toBe(1);
    expect(uso[25]).toBe(0);
    // The USO schedule is flatter: lower sigmas mid-way.
    expect(uso[12]!).toBeLessThan(flux[12]!);
  });

  it('checks its options with fix-it messages', () => {
    expect(() => usoSchedule(0, 1024, 1024, 'uso')).toThrow(/integer >= 1/);
    expect(() => usoSchedule(20, 1000, 1024, 'uso')).toThrow(/multiple of 16/);
    expect(() => usoSchedule(20, 1024, 1024, 'sd3' as UsoScheduleMode)).toThrow(/'uso'/);
  });
});
