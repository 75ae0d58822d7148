import { describe, it, expect } from 'vitest';
import { sampleSeeds2, sampleSeeds3 } from './seeds.ts';
import { compareWithReference, referenceRuns, syntheticDenoiser } from './sde-test-support.ts';
import { torchRandn } from '../../noise/torch-randn.ts';

// |ours - torch| per element on outputs up to about 4: torch's last-bit exp/log (see dpmpp-sde.test.ts).
const BOUND = 1.5e-6;

describe('SEEDS-2 and SEEDS-3', () => {
  for (const name of ['seeds_2', 'seeds_3']) {
    it(`${name} is within ${BOUND} of ComfyUI's formulas run in torch on 4 schedules`, async () => {
      const runs = referenceRuns(name);
      expect(runs).toHaveLength(4);
      for (const r of runs) {
        expect((await compareWithReference(name, r)).maxErr, `${name}/${r.scheduler} ${r.steps}`).toBeLessThanOrEqual(BOUND);
      }
    });
  }

  it('seeds_2 is bit-identical on the 6-step FLUX simple schedule', async () => {
    const r = referenceRuns('seeds_2').find((x) => x.steps === 6)!;
    expect(await compareWithReference('seeds_2', r)).toEqual({ differing: 0, maxErr: 0 });
  });

  it('eta 0 removes the noise; a bad eta is refused', async () => {
    const sigmas = referenceRuns('seeds_3')[0]!.sigmas;
    const x0 = torchRandn(3, [256]);
    for (const sample of [sampleSeeds2, sampleSeeds3]) {
      const a = await sample(syntheticDenoiser, x0, sigmas, { eta: 0, seed: 1 });
      expect(Array.from(await sample(syntheticDenoiser, x0, sigmas, { eta: 0, seed: 2 }))).toEqual(Array.from(a));
      expect(Array.from(await sample(syntheticDenoiser, x0, sigmas, { seed: 2 }))).not.toEqual(Array.from(a));
      await expect(sample(syntheticDenoiser, x0, sigmas, { eta: Number.NaN })).rejects.toThrow(/eta/);
    }
  });
});
