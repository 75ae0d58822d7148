import { describe, it, expect } from 'vitest';
import { exponentialCoefficients, sampleSaSolver, stochasticAdamsCoefficients } from './sa-solver.ts';
import { compareWithReference, referenceRuns, syntheticDenoiser } from './sde-test-support.ts';
import { torchRandn } from '../../noise/torch-randn.ts';

// |ours - torch| per element on outputs up to about 4. torch solves the Vandermonde system for the b coefficients in
// float32 (LAPACK), this runtime in double precision; torch's own coefficient error grows with the step count: the
// fixture script's reference run with double-precision coefficients moves by 2.1e-5 at 28 steps (5.8e-6 at 20).
const BOUND = 4e-5;

describe('SA-Solver', () => {
  for (const name of ['sa_solver', 'sa_solver_pece']) {
    it(`${name} is within ${BOUND} of ComfyUI's formulas run in torch on 4 schedules`, async () => {
      const runs = referenceRuns(name);
      expect(runs).toHaveLength(4);
      for (const r of runs) {
        expect((await compareWithReference(name, r)).maxErr, `${name}/${r.scheduler} ${r.steps}`).toBeLessThanOrEqual(BOUND);
      }
    });
  }

  it("solves for b so that polynomial predictions get the exponential integrator's weights", () => {
    // V^T w = e: predictions D(lambda) = lambda^p (p < order) weighted by b / alpha_t give e_p.
    const lambdas = [-0.4, 0.3, 1.1];
    const [s, t] = [1.1, 1.9];
    const b = stochasticAdamsCoefficients(0.2, lambdas, s, t, 1);
    const e = exponentialCoefficients(s, t, 3, 1);
    const alpha = 0.2 * Math.exp(t);
    for (let p = 0; p < 3; p++) expect(lambdas.reduce((acc, l, i) => acc + b[i]! * l ** p, 0) / alpha).toBeCloseTo(e[p]!, 5);
    // e_0 = 1 - e^-(1 + tau^2)(t - s), e_1 by parts: t - s e^-k(t - s) - e_0 / k (k = 1 + tau^2 = 2).
    expect(e[0]).toBeCloseTo(1 - Math.exp(-2 * (t - s)), 12);
    expect(e[1]).toBeCloseTo(t - s * Math.exp(-2 * (t - s)) - e[0]! / 2, 12);
  });

  it('refuses bad orders and repeated half-log-SNR points', async () => {
    const sigmas = referenceRuns('sa_solver')[0]!.sigmas;
    const x0 = torchRandn(4, [256]);
    await expect(sampleSaSolver(syntheticDenoiser, x0, sigmas, { predictorOrder: 0 })).rejects.toThrow(/predictorOrder/);
    await expect(sampleSaSolver(syntheticDenoiser, x0, sigmas, { correctorOrder: 7 })).rejects.toThrow(/correctorOrder/);
    expect(() => stochasticAdamsCoefficients(0.5, [0.2, 0.2], 0.2, 0.4, 0)).toThrow(/distinct sigmas/);
  });
});
