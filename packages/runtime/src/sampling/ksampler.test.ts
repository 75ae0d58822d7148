import { describe, it, expect } from 'vitest';
import { cfgGuidance, isCfgOne, ksample, runSampler } from './ksampler.ts';
import { processLatentIn, processLatentOut } from './latent.ts';
import { getSampler, type Denoiser } from './samplers.ts';

describe('ksample', () => {
  const sigmas = [1, 0.5, 0];

  it('returns the latent untouched for an empty schedule (denoise 0)', async () => {
    const latent = new Float32Array([1, 2]);
    const out = await ksample(async (x) => x, { sampler: 'euler', sigmas: [], latent, noise: new Float32Array(2) });
    expect(Array.from(out)).toEqual([1, 2]);
  });

  it('process_in on a non-empty latent, noise scaling at sigma_0, process_out at the end', async () => {
    const latent = new Float32Array([0.8, -0.4]);
    const inModelSpace = processLatentIn(latent);
    const seen: number[][] = [];
    // A perfect denoiser that returns the model-space latent: the result must be the original latent.
    const perfect: Denoiser = async (x) => {
      seen.push(Array.from(x));
      return inModelSpace;
    };
    const noise = new Float32Array([1, -1]);
    const out = await ksample(perfect, { sampler: 'euler', sigmas, latent, noise });
    // sigma_0 = 1: the first model input is pure noise.
    expect(seen[0]).toEqual([1, -1]);
    out.forEach((v, i) => expect(v).toBeCloseTo(latent[i]!, 6));
  });

  it('skips process_in for an all-zero latent but still applies process_out', async () => {
    const zero = new Float32Array(2);
    const out = await ksample(async () => new Float32Array(2), { sampler: 'euler', sigmas, latent: zero, noise: zero });
    expect(Array.from(out)).toEqual(Array.from(processLatentOut(zero)));
  });

  it('checks the noise length and sampler name', async () => {
    const l = new Float32Array(2);
    await expect(ksample(async (x) => x, { sampler: 'euler', sigmas, latent: l, noise: new Float32Array(3) })).rejects.toThrow(
      /prepareNoise/,
    );
    await expect(ksample(async (x) => x, { sampler: 'foo', sigmas, latent: l, noise: l })).rejects.toThrow(/supported/);
  });
});

describe('cfgGuidance', () => {
  const x = new Float32Array([1, -2, 0.5]);
  const cond: Denoiser = async (v) => v.map((t) => t * 0.1);
  const uncond: Denoiser = async (v) => v.map((t) => t * 0.3 + 0.01);

  it('is uncond + (cond - uncond) * cfg in float32 and hands the unconditional prediction to CFG++ samplers', async () => {
    const calls: string[] = [];
    const model = cfgGuidance({
      positive: async (v, s) => (calls.push('pos'), cond(v, s)),
      negative: async (v, s) => (calls.push('neg'), uncond(v, s)),
      cfg: 3.5,
    });
    const c = await cond(x, 1);
    const u = await uncond(x, 1);
    const want = Array.from(c, (cv, k) => Math.fround(u[k]! + Math.fround(Math.fround(cv - u[k]!) * 3.5)));
    expect(Array.from(await model.denoise(x, 1))).toEqual(want);
    const both = await model.denoiseWithUncond(x, 1);
    expect(Array.from(both.denoised)).toEqual(want);
    expect(Array.from(both.uncondDenoised)).toEqual(Array.from(u));
    expect(calls).toEqual(['pos', 'neg', 'pos', 'neg']);
  });

  it('skips the negative at cfg 1 (math.isclose) except for the CFG++ path', async () => {
    let negatives = 0;
    const model = cfgGuidance({ positive: cond, negative: async (v, s) => (negatives++, uncond(v, s)), cfg: 1 + 1e-12 });
    expect(isCfgOne(1 + 1e-12)).toBe(true);
    expect(isCfgOne(1.01)).toBe(false);
    expect(Array.from(await model.denoise(x, 1))).toEqual(Array.from(await cond(x, 1)));
    expect(negatives).toBe(0);
    await model.denoiseWithUncond(x, 1);
    expect(negatives).toBe(1);
    expect(() => cfgGuidance({ positive: cond, negative: uncond, cfg: NaN })).toThrow(/finite/);
  });

  it('runs a CFG++ sampler on a plain denoiser with its output as both predictions', async () => {
    const sigmas = [1, 0.5, 0];
    const x0 = new Float32Array([2, -1]);
    const plain = await runSampler(getSampler('euler_cfg_pp'), cond, x0, sigmas);
    const guided = await runSampler(getSampler('euler_cfg_pp'), cfgGuidance({ positive: cond, negative: cond, cfg: 1 }), x0, sigmas);
    expect(Array.from(plain)).toEqual(Array.from(guided));
  });
});

describe('ksample with uni_pc', () => {
  it("unscales by 1 - 0.001 at the end, as ComfyUI does after uni_pc writes 0.001 into the schedule's last sigma", async () => {
    const target = new Float32Array([0.3, -0.7]);
    const perfect: Denoiser = async () => target;
    const noise = new Float32Array([1, 1]);
    const opts = { sigmas: [1, 0.6, 0.3, 0], latent: new Float32Array(2), noise, latentFormat: null };
    const uni = await ksample(perfect, { ...opts, sampler: 'uni_pc' });
    // A constant denoiser makes UniPC follow the straight path exactly: at sigma 0.001, x = D + 0.001 (noise - D);
    // then KSampler divides by 1 - 0.001. (float32 cancellation in std(0.001) = sqrt(1 - alpha^2) costs ~2e-5.)
    uni.forEach((v, i) => expect(v).toBeCloseTo((target[i]! + 0.001 * (1 - target[i]!)) / (1 - 0.001), 4));
    uni.forEach((v, i) => expect(Math.abs(v - target[i]!)).toBeGreaterThan(5e-4));
    const euler = await ksample(perfect, { ...opts, sampler: 'euler' });
    euler.forEach((v, i) => expect(v).toBeCloseTo(target[i]!, 6));
  });
});
