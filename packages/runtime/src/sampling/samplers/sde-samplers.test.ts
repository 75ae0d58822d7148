import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  brownianTreeNoiseSampler,
  denoiserFromVelocity,
  exponentialCoefficients,
  sampleDpmpp2mSde,
  sampleDpmpp3mSde,
  sampleDpmppSde,
  sampleErSde,
  sampleSaSolver,
  sampleSeeds3,
  stochasticAdamsCoefficients,
} from '../samplers.ts';
import { ksample } from '../ksampler.ts';
import { torchRandn } from '../../noise/torch-randn.ts';
import { linspaceF32 } from '../../schedule/schedulers.ts';
import { percentToSigma } from '../../schedule/flux-sigmas.ts';

// torch 1.13 CPU runs of ComfyUI's SDE sampler formulas with an own torch reference of torchsde's Brownian tree
// (scripts/make-sde-fixtures.py): CONST model, FLUX.1-dev shift 1.15, seed 3407.
const fx = JSON.parse(readFileSync(new URL('../fixtures/sde-samplers.json', import.meta.url), 'utf8')) as {
  seed: number;
  shape: number[];
  runs: Array<{ sampler: string; scheduler: string; steps: number; denoise: number; sigmas: number[]; f32: string }>;
};

function decode(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

const f32 = Math.fround;
// The fixture's synthetic flow model, v = x (0.5 + sigma) / (1 + x x) - 0.3 x, with torch's float32 roundings.
const syntheticVelocity = async (x: Float32Array, sigma: number): Promise<Float32Array> => {
  const s = f32(0.5 + f32(sigma));
  const c = f32(0.3);
  return x.map((v) => f32(f32(f32(v * s) / f32(1 + f32(v * v))) - f32(c * v)));
};

async function run(sampler: string, r: (typeof fx.runs)[number]) {
  const out = await ksample(denoiserFromVelocity(syntheticVelocity), {
    sampler,
    sigmas: r.sigmas,
    latent: linspaceF32(-1, 1, 256),
    noise: torchRandn(fx.seed, fx.shape),
    seed: fx.seed,
    latentFormat: null,
  });
  const ref = decode(r.f32);
  let maxErr = 0;
  let differing = 0;
  for (let i = 0; i < ref.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(out[i]! - ref[i]!));
    if (out[i] !== ref[i]) differing++;
  }
  return { differing, maxErr };
}

// Bounds on |ours - torch| per element (outputs are O(1), up to about 4). The arithmetic is the same float32
// operation sequence as ComfyUI's; what is left:
// - torch evaluates 0-dim exp/log/expm1 with its vectorised float functions (SLEEF here, MKL in official wheels;
//   1-ulp accurate, not correctly rounded), so a coefficient can differ in its last bit: about 1e-6 at most;
// - er_sde: torch's float32 200-point reductions (here in double precision);
// - sa_solver: torch solves the Vandermonde system in float32 (LAPACK), here in double precision; torch's own
//   rounding error in the coefficients grows with the step count (2e-5 at 28 steps: the script's double-precision
//   run of the same reference moves its output by as much).
const BOUNDS: Record<string, number> = {
  dpmpp_sde: 1.5e-6,
  dpmpp_2m_sde: 1.5e-6,
  dpmpp_2m_sde_heun: 1.5e-6,
  dpmpp_3m_sde: 1.5e-6,
  seeds_2: 1.5e-6,
  seeds_3: 1.5e-6,
  er_sde: 4e-6,
  sa_solver: 4e-5,
  sa_solver_pece: 4e-5,
};

describe('SDE samplers vs torch', () => {
  for (const [name, bound] of Object.entries(BOUNDS)) {
    it(`${name} matches ComfyUI's formulas run in torch within ${bound}`, async () => {
      const runs = fx.runs.filter((x) => x.sampler === name);
      expect(runs.length).toBe(4);
      for (const r of runs) {
        const label = `${name}/${r.scheduler} ${r.steps} steps denoise ${r.denoise}`;
        expect((await run(name, r)).maxErr, label).toBeLessThanOrEqual(bound);
      }
    });
  }

  it('the Brownian-tree samplers are bit-identical to torch where its SLEEF exp/log round like libm (FLUX simple schedule)', async () => {
    for (const name of ['dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_2m_sde_heun', 'dpmpp_3m_sde', 'seeds_2']) {
      const r = fx.runs.find((x) => x.sampler === name && x.scheduler === 'simple')!;
      expect(await run(name, r), name).toEqual({ differing: 0, maxErr: 0 });
    }
  });

  it('_gpu variants draw the same CPU-stream tree here (what ComfyUI does when the device is the CPU)', async () => {
    for (const name of ['dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_2m_sde_heun', 'dpmpp_3m_sde']) {
      const r = fx.runs.find((x) => x.sampler === name && x.scheduler === 'beta')!;
      expect(await run(`${name}_gpu`, r), name).toEqual(await run(name, r));
    }
  });
});

describe('brownianTreeNoiseSampler', () => {
  // ComfyUI's BrownianTreeNoiseSampler around the tree reference, on 3 values (randn's double path).
  const tree = JSON.parse(readFileSync(new URL('../../noise/fixtures/brownian-tree.json', import.meta.url), 'utf8')) as {
    t0: number;
    t1: number;
    noiseSampler: { seed: number; calls: Array<{ sigma: number; sigmaNext: number; f32: string }> };
  };

  it('divides the tree increment by sqrt|dt| with the sign of the query, like ComfyUI', () => {
    const ns = brownianTreeNoiseSampler(3, [tree.t1, 0.5, tree.t0, 0], { seed: tree.noiseSampler.seed }, 'cpu');
    for (const c of tree.noiseSampler.calls) {
      expect(Array.from(ns(c.sigma, c.sigmaNext, 3)), `${c.sigma} -> ${c.sigmaNext}`).toEqual(Array.from(decode(c.f32)));
    }
    expect(() => ns(0.5, 0.4, 4)).toThrow(/built for 3/);
  });
});

describe('SDE sampler options', () => {
  const denoise = denoiserFromVelocity(syntheticVelocity);
  const sigmas = fx.runs.find((x) => x.scheduler === 'simple')!.sigmas;
  const x0 = torchRandn(1, [256]);

  it('eta 0 turns dpmpp_2m_sde into an ODE solver whose result ignores the seed', async () => {
    const a = await sampleDpmpp2mSde(denoise, x0, sigmas, { eta: 0, seed: 1 });
    expect(Array.from(await sampleDpmpp2mSde(denoise, x0, sigmas, { eta: 0, seed: 2 }))).toEqual(Array.from(a));
    expect(Array.from(await sampleDpmpp2mSde(denoise, x0, sigmas, { seed: 2 }))).not.toEqual(Array.from(a));
  });

  it('draws tree noise in the latent layout and maps it through noiseLayout', async () => {
    // An elementwise model commutes with any permutation of the latent, so sampling a reversed latent with the
    // noise reversed too must give the reversed result.
    const reverse = (a: Float32Array) => Float32Array.from(a).reverse();
    for (const sampler of [sampleDpmppSde, sampleSeeds3]) {
      const plainRun = await sampler(denoise, x0, sigmas, { seed: 5 });
      const permuted = await sampler(denoise, reverse(x0), sigmas, { seed: 5, noiseLayout: reverse });
      expect(Array.from(permuted)).toEqual(Array.from(reverse(plainRun)));
    }
  });

  it('uses the model shift for the first-sigma offset and refuses bad options', async () => {
    const a = await sampleDpmpp3mSde(denoise, x0, sigmas, { seed: 3 });
    const b = await sampleDpmpp3mSde(denoise, x0, sigmas, { seed: 3, percentToSigma: (p) => percentToSigma(p, 3) });
    expect(Array.from(b)).not.toEqual(Array.from(a));
    await expect(sampleDpmppSde(denoise, x0, sigmas, { eta: -1 })).rejects.toThrow(/eta/);
    await expect(sampleDpmpp2mSde(denoise, x0, sigmas, { solverType: 'rk4' as 'heun' })).rejects.toThrow(/solverType/);
    await expect(sampleErSde(denoise, x0, sigmas, { maxStage: 4 })).rejects.toThrow(/maxStage/);
    await expect(sampleSaSolver(denoise, x0, sigmas, { predictorOrder: 0 })).rejects.toThrow(/predictorOrder/);
    // One sigma: nothing to do, the input comes back.
    expect(await sampleDpmppSde(denoise, x0, [0.5])).toBe(x0);
  });

  it("SA-Solver's coefficients integrate polynomials exactly", () => {
    // With tau 0 the b_i weight the predictions so that a prediction D(lambda) = lambda^p (p < order) integrates to
    // alpha_t times the exponential integral of lambda^p, which exponentialCoefficients gives in closed form.
    const lambdas = [-0.4, 0.3, 1.1];
    const [s, t] = [1.1, 1.9];
    const b = stochasticAdamsCoefficients(0.2, lambdas, s, t, 0);
    const e = exponentialCoefficients(s, t, 3, 0);
    const alpha = 0.2 * Math.exp(t);
    for (let p = 0; p < 3; p++) {
      const weighted = lambdas.reduce((acc, l, i) => acc + b[i]! * l ** p, 0);
      expect(weighted / alpha).toBeCloseTo(e[p]!, 5);
    }
    // e_0 = 1 - e^-(t - s) (the first-order exponential integrator weight).
    expect(e[0]).toBeCloseTo(1 - Math.exp(-(t - s)), 12);
  });
});
