import { describe, it, expect } from 'vitest';
import { sampleErSde } from './er-sde.ts';
import { compareWithReference, referenceRuns, syntheticDenoiser } from './sde-test-support.ts';
import { torchRandn } from '../../noise/torch-randn.ts';

// |ours - torch| per element on outputs up to about 4: torch's last-bit exp/log (see dpmpp-sde.test.ts) plus its
// float32 200-point reductions, which are summed in double precision here.
const BOUND = 4e-6;

describe('er_sde', () => {
  it(`is within ${BOUND} of ComfyUI's formulas run in torch on 4 schedules`, async () => {
    const runs = referenceRuns('er_sde');
    expect(runs).toHaveLength(4);
    for (const r of runs) {
      expect((await compareWithReference('er_sde', r)).maxErr, `${r.scheduler} ${r.steps}`).toBeLessThanOrEqual(BOUND);
    }
  });

  it('uses stages 2 and 3 (each changes the result), draws seeded noise and checks maxStage', async () => {
    const sigmas = referenceRuns('er_sde').find((r) => r.steps === 6)!.sigmas;
    const x0 = torchRandn(2, [256]);
    const byStage = await Promise.all([1, 2, 3].map((maxStage) => sampleErSde(syntheticDenoiser, x0, sigmas, { seed: 4, maxStage })));
    expect(Array.from(byStage[1]!)).not.toEqual(Array.from(byStage[0]!));
    expect(Array.from(byStage[2]!)).not.toEqual(Array.from(byStage[1]!));
    const otherSeed = await sampleErSde(syntheticDenoiser, x0, sigmas, { seed: 5 });
    expect(Array.from(otherSeed)).not.toEqual(Array.from(byStage[2]!));
    const quiet = await sampleErSde(syntheticDenoiser, x0, sigmas, { seed: 5, sNoise: 0 });
    expect(Array.from(await sampleErSde(syntheticDenoiser, x0, sigmas, { seed: 6, sNoise: 0 }))).toEqual(Array.from(quiet));
    await expect(sampleErSde(syntheticDenoiser, x0, sigmas, { maxStage: 4 })).rejects.toThrow(/maxStage/);
  });
});
