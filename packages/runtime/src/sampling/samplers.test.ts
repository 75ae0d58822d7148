import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  denoiserFromVelocity,
  getSampler,
  sampleDpmpp2m,
  sampleEuler,
  sampleEulerAncestral,
  sampleHeun,
  sampleLcm,
  SAMPLER_NAMES,
  implementedSamplerNames,
  type Denoiser,
  type SamplerStep,
} from './samplers.ts';
import { ksample } from './ksampler.ts';
import { torchRandn } from '../noise/torch-randn.ts';
import { ksamplerSigmas, linspaceF32, type SchedulerName } from '../schedule/schedulers.ts';

// torch 1.13 CPU runs of ComfyUI's sampler formulas (scripts/make-reference-fixtures.py).
const fx = JSON.parse(readFileSync(new URL('./fixtures/samplers.json', import.meta.url), 'utf8')) as {
  seed: number;
  shape: number[];
  runs: Array<{ sampler: string; scheduler: SchedulerName; steps: number; denoise: number; sigmas: number[]; f32: string }>;
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

const half: Denoiser = async (x) => x.map((v) => v / 2);

describe('samplers vs torch (CONST noise scaling, synthetic flow model)', () => {
  it('euler, euler_ancestral, heun, dpmpp_2m and lcm give the bits of ComfyUI formulas run in torch', async () => {
    const noise = torchRandn(fx.seed, fx.shape); // [1, 16, 4, 4]
    const latent = linspaceF32(-1, 1, 256);
    const denoise = denoiserFromVelocity(syntheticVelocity);
    for (const run of fx.runs) {
      const label = `${run.sampler}/${run.scheduler} ${run.steps} steps denoise ${run.denoise}`;
      const sigmas = ksamplerSigmas({ scheduler: run.scheduler, steps: run.steps, denoise: run.denoise, sampler: run.sampler });
      sigmas.forEach((s, i) => expect(Math.abs(s - run.sigmas[i]!), label).toBeLessThanOrEqual(1.2e-7));
      const out = await ksample(denoise, {
        sampler: run.sampler,
        sigmas: run.sigmas,
        latent,
        noise,
        seed: fx.seed,
        latentFormat: null,
      });
      const ref = decode(run.f32);
      let maxErr = 0;
      let differing = 0;
      for (let i = 0; i < ref.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(out[i]! - ref[i]!));
        if (out[i] !== ref[i]) differing++;
      }
      // Same float32 operations in the same order: bit-identical (dpmpp_2m also needs log/exp/expm1 to round alike).
      expect({ differing, maxErr }, label).toEqual({ differing: 0, maxErr: 0 });
    }
  });
});

describe('samplers by hand (float64 arithmetic on D = x / 2, sigmas [1, 0.5, 0], x0 = 2)', () => {
  const sigmas = [1, 0.5, 0];
  const x0 = new Float32Array([2]);

  it('euler: 2 -> 1.5 -> 0.75', async () => {
    const seen: number[] = [];
    const out = await sampleEuler(half, x0, sigmas, { callback: (s) => void seen.push(s.x[0]!) });
    expect(seen).toEqual([2, 1.5]);
    expect(out[0]).toBeCloseTo(0.75, 6);
    expect(x0[0]).toBe(2); // input untouched
  });

  it('heun: 2 -> 1.375 -> 0.6875 (last step is Euler)', async () => {
    let calls = 0;
    const counted: Denoiser = async (x, s) => {
      calls++;
      return half(x, s);
    };
    const out = await sampleHeun(counted, x0, sigmas);
    expect(out[0]).toBeCloseTo(0.6875, 6);
    expect(calls).toBe(3);
  });

  it('dpmpp_2m: first step 0.5 x + 0.5 D = 1.5, last step lands on D = 0.75', async () => {
    expect((await sampleDpmpp2m(half, x0, sigmas))[0]).toBeCloseTo(0.75, 6);
    // Three steps exercise the second-order branch: r = h_prev / h.
    const s3 = [1, 0.5, 0.25, 0];
    const out = await sampleDpmpp2m(half, x0, s3);
    // Step 0: x1 = 1.5, D0 = 1. Step 1: h = ln 2, r = 1, D' = 1.5 * 0.75 - 0.5 * 1 = 0.625,
    // x2 = 0.5 * 1.5 + 0.5 * 0.625 = 1.0625. Step 2: x = D = 0.53125.
    expect(out[0]).toBeCloseTo(0.53125, 6);
  });

  it('euler_ancestral (RF, eta 1): sigma_down 0.25, re-noise sqrt(2/9), then x = D', async () => {
    const eps = 0.3;
    const seen: number[] = [];
    const out = await sampleEulerAncestral(half, x0, sigmas, {
      noiseSampler: (_s, _sn, n) => new Float32Array(n).fill(eps),
      callback: (s) => void seen.push(s.x[0]!),
    });
    const x1 = (0.5 / 0.75) * (0.25 * 2 + 0.75 * 1) + eps * Math.sqrt(0.25 - (0.0625 * 0.25) / 0.5625);
    expect(seen[1]).toBeCloseTo(x1, 6);
    expect(out[0]).toBeCloseTo(x1 / 2, 6);
  });

  it('euler_ancestral with eta 0 is Euler', async () => {
    const a = await sampleEulerAncestral(half, x0, [1, 0.6, 0.3, 0], { eta: 0 });
    const b = await sampleEuler(half, x0, [1, 0.6, 0.3, 0]);
    expect(a[0]).toBeCloseTo(b[0]!, 6);
  });

  it('lcm: x = D, then sigma_next eps + (1 - sigma_next) x', async () => {
    const out = await sampleLcm(half, x0, sigmas, { noiseSampler: (_s, _sn, n) => new Float32Array(n).fill(0.4) });
    // Step 0: D = 1 -> 0.5 * 0.4 + 0.5 * 1 = 0.7. Step 1: D = 0.35, sigma_next = 0.
    expect(out[0]).toBeCloseTo(0.35, 6);
  });
});

describe('sampler invariants', () => {
  it('with a perfect constant denoiser every deterministic sampler stays on the straight path and ends at D', async () => {
    const target = new Float32Array([0.25, -1, 3]);
    const perfect: Denoiser = async () => target;
    const k = new Float32Array([1, 2, -0.5]);
    const sigmas = [1, 0.8, 0.4, 0.1, 0];
    const x0 = target.map((t, i) => t + sigmas[0]! * k[i]!);
    for (const [name, sample] of [['euler', sampleEuler], ['heun', sampleHeun], ['dpmpp_2m', sampleDpmpp2m]] as const) {
      const steps: SamplerStep[] = [];
      const out = await sample(perfect, x0, sigmas, { callback: (s) => void steps.push({ ...s, x: s.x.slice() }) });
      for (const s of steps) s.x.forEach((v, i) => expect(v, name).toBeCloseTo(target[i]! + s.sigma * k[i]!, 5));
      out.forEach((v, i) => expect(v, name).toBeCloseTo(target[i]!, 5));
    }
  });

  it('seeded ancestral noise follows one torch generator across steps', async () => {
    const x0 = new Float32Array(20).fill(1);
    const a = await sampleEulerAncestral(half, x0, [1, 0.7, 0.4, 0], { seed: 42 });
    const b = await sampleEulerAncestral(half, x0, [1, 0.7, 0.4, 0], { seed: 42 });
    const c = await sampleEulerAncestral(half, x0, [1, 0.7, 0.4, 0], { seed: 43 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('aborts between model calls', async () => {
    const ctrl = new AbortController();
    let calls = 0;
    const model: Denoiser = async (x) => {
      if (++calls === 2) ctrl.abort(new Error('stop'));
      return x;
    };
    await expect(sampleEuler(model, new Float32Array(4), [1, 0.75, 0.5, 0.25, 0], { signal: ctrl.signal })).rejects.toThrow(
      'stop',
    );
    expect(calls).toBe(2);
  });

  it('checks sigmas, model output length and sampler names', async () => {
    await expect(sampleEuler(half, new Float32Array(2), [1, NaN, 0])).rejects.toThrow(/ksamplerSigmas/);
    await expect(sampleEuler(async () => new Float32Array(1), new Float32Array(2), [1, 0])).rejects.toThrow(/1 values/);
    expect(() => getSampler('dpmpp_3m')).toThrow(/supported: euler/);
    expect(() => getSampler('toString')).toThrow(/unknown sampler/);
  });

  it('denoiserFromVelocity computes D = x - v sigma', async () => {
    const d = denoiserFromVelocity(async () => new Float32Array([1, -2]));
    expect(Array.from(await d(new Float32Array([3, 3]), 0.5))).toEqual([2.5, 4]);
  });
});

describe('sampler registry', () => {
  it("lists ComfyUI's 42 KSampler names in ComfyUI's order and offers the implemented ones in that order", () => {
    // comfy/samplers.py (v0.3.64): KSAMPLER_NAMES + ['ddim', 'uni_pc', 'uni_pc_bh2'].
    expect(SAMPLER_NAMES.length).toBe(42);
    expect(SAMPLER_NAMES.slice(0, 4)).toEqual(['euler', 'euler_cfg_pp', 'euler_ancestral', 'euler_ancestral_cfg_pp']);
    expect(SAMPLER_NAMES.slice(-3)).toEqual(['ddim', 'uni_pc', 'uni_pc_bh2']);
    // Every ComfyUI name has an implementation, so KSampler offers the whole list in ComfyUI's order.
    expect(implementedSamplerNames()).toEqual([...SAMPLER_NAMES]);
    const offered = implementedSamplerNames();
    for (const name of offered) expect(getSampler(name).kind, name).toBe(name.endsWith('_cfg_pp') ? 'guided' : 'plain');
  });
});
