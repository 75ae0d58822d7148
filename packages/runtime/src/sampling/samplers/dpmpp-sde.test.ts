import { describe, it, expect } from 'vitest';
import { sampleDpmpp2mSde, sampleDpmpp3mSde, sampleDpmppSde } from './dpmpp-sde.ts';
import { compareWithReference, referenceRuns, syntheticDenoiser } from './sde-test-support.ts';
import { torchRandn } from '../../noise/torch-randn.ts';
import { percentToSigma } from '../../schedule/flux-sigmas.ts';

// |ours - torch| per element on outputs up to about 4. Same float32 operation sequence as ComfyUI's; what is left is
// torch's vectorised 0-dim exp/log/expm1 (SLEEF here, MKL's VML in official wheels: within 1 ulp, not correctly
// rounded), so a per-step coefficient can differ in its last bit.
const BOUND = 1.5e-6;
const NAMES = ['dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_2m_sde_heun', 'dpmpp_3m_sde'];

describe('DPM-Solver++ SDE samplers vs torch (Brownian-tree noise)', () => {
  for (const name of NAMES) {
    it(`${name} is within ${BOUND} of ComfyUI's formulas run in torch on 4 schedules`, async () => {
      const runs = referenceRuns(name);
      expect(runs).toHaveLength(4);
      for (const r of runs) {
        const label = `${name}/${r.scheduler} ${r.steps} steps denoise ${r.denoise}`;
        expect((await compareWithReference(name, r)).maxErr, label).toBeLessThanOrEqual(BOUND);
      }
    });
  }

  it("is bit-identical where torch's exp/log round like libm (6-step FLUX simple schedule)", async () => {
    for (const name of NAMES) {
      const r = referenceRuns(name).find((x) => x.scheduler === 'simple' && x.steps === 6)!;
      expect(await compareWithReference(name, r), name).toEqual({ differing: 0, maxErr: 0 });
    }
  });

  it('_gpu variants draw the same CPU-stream tree (what ComfyUI does when the device is the CPU)', async () => {
    for (const name of NAMES) {
      const r = referenceRuns(name).find((x) => x.scheduler === 'beta')!;
      expect(await compareWithReference(`${name}_gpu`, r), name).toEqual(await compareWithReference(name, r));
    }
  });
});

describe('DPM-Solver++ SDE options', () => {
  const sigmas = referenceRuns('dpmpp_sde')[0]!.sigmas;
  const x0 = torchRandn(1, [256]);

  it('eta 0 turns dpmpp_2m_sde into an ODE solver whose result ignores the seed', async () => {
    const a = await sampleDpmpp2mSde(syntheticDenoiser, x0, sigmas, { eta: 0, seed: 1 });
    expect(Array.from(await sampleDpmpp2mSde(syntheticDenoiser, x0, sigmas, { eta: 0, seed: 2 }))).toEqual(Array.from(a));
    expect(Array.from(await sampleDpmpp2mSde(syntheticDenoiser, x0, sigmas, { seed: 2 }))).not.toEqual(Array.from(a));
  });

  it('moves a first sigma of 1 with the model shift and refuses bad options', async () => {
    const a = await sampleDpmpp3mSde(syntheticDenoiser, x0, sigmas, { seed: 3 });
    const b = await sampleDpmpp3mSde(syntheticDenoiser, x0, sigmas, { seed: 3, percentToSigma: (p) => percentToSigma(p, 3) });
    expect(Array.from(b)).not.toEqual(Array.from(a));
    await expect(sampleDpmppSde(syntheticDenoiser, x0, sigmas, { eta: -1 })).rejects.toThrow(/eta/);
    await expect(sampleDpmpp2mSde(syntheticDenoiser, x0, sigmas, { solverType: 'rk4' as 'heun' })).rejects.toThrow(/solverType/);
    // One sigma: nothing to do, the input comes back.
    expect(await sampleDpmppSde(syntheticDenoiser, x0, [0.5])).toBe(x0);
  });
});
