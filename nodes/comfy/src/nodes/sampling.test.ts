import { describe, it, expect, afterAll } from 'vitest';
import { InterruptedError, NodeRegistry } from '@uso-studio/core';
import {
  Tensor,
  ksample,
  ksamplerSigmas,
  prepareNoise,
  SAMPLER_NAMES,
  SCHEDULER_NAMES,
  type Denoiser,
  type SchedulerName,
} from '@uso-studio/runtime';
import { makeTestHost, recordingContext, referenceVelocity } from '../test-support.ts';
import { unetLoader } from './loaders.ts';
import { easyCache, kSampler, KSAMPLER_NAMES } from './sampling.ts';
import { runKSampler, type Latent } from '../flux/sample.ts';
import { withModel, type ModelDescriptor } from '../models/descriptors.ts';
import type { ConditioningEntry } from '../flux/conditioning.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const ctx = () => recordingContext(host.env);

function entry(seed: number, extra: Partial<ConditioningEntry> = {}): ConditioningEntry {
  return {
    cond: Tensor.float32([1, 3, 8], Float32Array.from({ length: 24 }, (_, i) => Math.sin(i + seed))),
    pooled_output: Tensor.float32([1, 6], Float32Array.from({ length: 6 }, (_, i) => Math.cos(i * seed))),
    ...extra,
  };
}

async function expected(shape: number[], latent: Float32Array, seed: number, sampler: string, scheduler: SchedulerName, steps: number, cfg: number, pos: ConditioningEntry, neg: ConditioningEntry, styles: Tensor<'float32'>[] = [], denoise = 1) {
  const vp = referenceVelocity(shape, pos, styles);
  const vn = referenceVelocity(shape, neg, styles);
  const d = async (v: (x: Float32Array, s: number) => Promise<Float32Array>, x: Float32Array, s: number) => {
    const out = await v(x, s);
    return Float32Array.from(x, (xv, k) => xv - Math.fround(out[k]! * Math.fround(s)));
  };
  // ComfyUI's CFG; the CFG++ samplers also get the unconditional prediction, evaluated even at cfg 1.
  const both = async (x: Float32Array, s: number) => {
    const c = await d(vp, x, s);
    const u = await d(vn, x, s);
    return { denoised: Float32Array.from(c, (cv, k) => u[k]! + Math.fround((cv - u[k]!) * Math.fround(cfg))), uncondDenoised: u };
  };
  const den: Denoiser = async (x, s) => (cfg === 1 ? d(vp, x, s) : (await both(x, s)).denoised);
  const sigmas = ksamplerSigmas({ scheduler, steps, denoise, sampler });
  return ksample({ denoise: den, denoiseWithUncond: both }, { sampler, sigmas, latent, noise: prepareNoise(shape, seed).data, seed });
}

async function model(): Promise<ModelDescriptor> {
  return (await unetLoader.execute({ unet_name: 'test-dit.safetensors', weight_dtype: 'default' }, ctx())).outputs![0] as ModelDescriptor;
}

function close(a: Float32Array, b: Float32Array, tol = 1e-4) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  expect(worst).toBeLessThan(tol);
}

describe('KSampler', () => {
  it('has ComfyUI inputs with the samplers and schedulers runtime implements', () => {
    const info = new NodeRegistry([kSampler, easyCache]).objectInfo(host.env).KSampler!;
    expect(Object.keys(info.input.required)).toEqual(['model', 'seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'positive', 'negative', 'latent_image', 'denoise']);
    expect(info.input.required.seed![1]).toMatchObject({ default: 0, min: 0, control_after_generate: true });
    expect(info.input.required.cfg![1]).toMatchObject({ default: 8, step: 0.1, round: 0.01 });
    // Every one of ComfyUI's KSampler samplers, in ComfyUI's order.
    expect(info.input.required.sampler_name![0]).toEqual([...SAMPLER_NAMES]);
    expect(info.input.required.scheduler![0]).toEqual(expect.arrayContaining(['simple', 'normal', 'karras', 'beta']));
    expect(KSAMPLER_NAMES).toContain('euler');
    expect(SCHEDULER_NAMES).toContain('simple');
  });

  it.each([
    ['euler', 'simple', 1],
    ['euler_ancestral', 'normal', 1],
    ['heun', 'karras', 2.5],
    ['dpmpp_2m', 'beta', 1],
  ] as const)('%s / %s (cfg %s) from an empty latent matches ComfyUI semantics', async (sampler, scheduler, cfg) => {
    const m = await model();
    const pos = entry(1, { guidance: 4 });
    const neg = entry(2);
    const empty = { samples: Tensor.zeros([1, 4, 4, 6]) }; // EmptyLatentImage: 4 channels, fixed to 16
    const c = ctx();
    const [out] = (await kSampler.execute(
      { model: m, seed: 42, steps: 4, cfg, sampler_name: sampler, scheduler, positive: [pos], negative: [neg], latent_image: empty, denoise: 1 },
      c,
    )).outputs as [Latent];
    expect(out.samples.shape).toEqual([1, 16, 4, 6]);
    close(out.samples.data, await expected([1, 16, 4, 6], new Float32Array(16 * 24), 42, sampler, scheduler, 4, cfg, pos, neg));
    expect(c.progressCalls).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    expect(c.previews).toHaveLength(4);
    expect(Array.from(c.previews[0]!.bytes.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // 'PNG'
  });

  // The SDE samplers: Brownian-tree noise (dpmpp_*sde*) or seeded default noise (er_sde, seeds, sa_solver), drawn in
  // the latent layout while KSampler samples packed tokens, and the model's shift for percent_to_sigma.
  it.each([
    ['dpmpp_sde', 'simple', 1],
    ['dpmpp_sde_gpu', 'karras', 2.5],
    ['dpmpp_2m_sde', 'beta', 1],
    ['dpmpp_2m_sde_gpu', 'simple', 1],
    ['dpmpp_2m_sde_heun', 'normal', 1],
    ['dpmpp_2m_sde_heun_gpu', 'simple', 1],
    ['dpmpp_3m_sde', 'simple', 2.5],
    ['dpmpp_3m_sde_gpu', 'beta', 1],
    ['er_sde', 'simple', 1],
    ['seeds_2', 'karras', 1],
    ['seeds_3', 'simple', 1],
    ['sa_solver', 'simple', 1],
    ['sa_solver_pece', 'beta', 1],
  ] as const)('SDE sampler %s / %s (cfg %s) runs in KSampler as ComfyUI samples it', async (sampler, scheduler, cfg) => {
    const m = await model();
    const pos = entry(1, { guidance: 4 });
    const neg = entry(2);
    const run = async (seed: number) =>
      ((await kSampler.execute(
        { model: m, seed, steps: 4, cfg, sampler_name: sampler, scheduler, positive: [pos], negative: [neg], latent_image: { samples: Tensor.zeros([1, 16, 4, 6]) }, denoise: 1 },
        ctx(),
      )).outputs as [Latent])[0].samples;
    const out = await run(42);
    expect(out.shape).toEqual([1, 16, 4, 6]);
    close(out.data, await expected([1, 16, 4, 6], new Float32Array(16 * 24), 42, sampler, scheduler, 4, cfg, pos, neg));
    // The noise depends on the seed beyond the initial noise: another seed moves the result.
    expect(Array.from((await run(43)).data)).not.toEqual(Array.from(out.data));
  });

  // The ODE, ancestral and CFG++ samplers beyond the first four: each runs through the node (packed tokens, CFG with
  // the unconditional prediction for CFG++, seeded ancestral noise in the latent layout, uni_pc's final unscaling).
  it.each([
    ['euler_cfg_pp', 'simple', 1],
    ['euler_ancestral_cfg_pp', 'karras', 1.5],
    ['heunpp2', 'simple', 2.5],
    ['dpm_2', 'beta', 1],
    ['dpm_2_ancestral', 'simple', 2.5],
    ['lms', 'karras', 1],
    ['dpm_fast', 'simple', 1],
    ['dpm_adaptive', 'simple', 2.5],
    ['dpmpp_2s_ancestral', 'beta', 1],
    ['dpmpp_2s_ancestral_cfg_pp', 'simple', 1],
    ['dpmpp_2m_cfg_pp', 'normal', 1.5],
    ['ddpm', 'simple', 1],
    ['lcm', 'simple', 1],
    ['ipndm', 'karras', 2.5],
    ['ipndm_v', 'simple', 1],
    ['deis', 'beta', 1],
    ['res_multistep', 'simple', 2.5],
    ['res_multistep_cfg_pp', 'simple', 1],
    ['res_multistep_ancestral', 'karras', 1],
    ['res_multistep_ancestral_cfg_pp', 'simple', 0.8],
    ['gradient_estimation', 'simple', 1],
    ['gradient_estimation_cfg_pp', 'beta', 1],
    ['ddim', 'ddim_uniform', 2.5],
    ['uni_pc', 'simple', 1],
    ['uni_pc_bh2', 'karras', 2.5],
  ] as const)('%s / %s (cfg %s) runs in KSampler as ComfyUI samples it', async (sampler, scheduler, cfg) => {
    const m = await model();
    const pos = entry(1, { guidance: 4 });
    const neg = entry(2);
    const run = async (seed: number) => {
      const c = ctx();
      const [out] = (await kSampler.execute(
        { model: m, seed, steps: 4, cfg, sampler_name: sampler, scheduler, positive: [pos], negative: [neg], latent_image: { samples: Tensor.zeros([1, 16, 4, 6]) }, denoise: 1 },
        c,
      )).outputs as [Latent];
      return { out: out.samples, c };
    };
    const { out, c } = await run(42);
    expect(out.shape).toEqual([1, 16, 4, 6]);
    close(out.data, await expected([1, 16, 4, 6], new Float32Array(16 * 24), 42, sampler, scheduler, 4, cfg, pos, neg));
    expect(c.progressCalls.length).toBeGreaterThan(0);
    const ancestral = /ancestral|ddpm|lcm/.test(sampler);
    if (ancestral) expect(Array.from((await run(43)).out.data)).not.toEqual(Array.from(out.data));
  });

  it('evaluates the negative only when cfg != 1, and honours denoise on a non-empty latent', async () => {
    const m = await model();
    const latent = { samples: Tensor.float32([1, 16, 2, 2], Float32Array.from({ length: 64 }, (_, i) => Math.sin(i))) };
    const base = { model: m, seed: 7n, steps: 3, samplerName: 'euler', scheduler: 'simple' as const, positive: [entry(3)], negative: [entry(4)], latent, denoise: 1 };
    expect((await runKSampler({ ...base, cfg: 1 }, ctx())).ditRuns).toBe(3);
    expect((await runKSampler({ ...base, cfg: 3 }, ctx())).ditRuns).toBe(6);
    // CFG++ samplers read the unconditional prediction, so ComfyUI evaluates the negative even at cfg 1.
    expect((await runKSampler({ ...base, samplerName: 'euler_cfg_pp', cfg: 1 }, ctx())).ditRuns).toBe(6);
    const partial = await runKSampler({ ...base, cfg: 1, denoise: 0.5 }, ctx());
    close(partial.latent.samples.data, await expected([1, 16, 2, 2], latent.samples.data, 7, 'euler', 'simple', 3, 1, entry(3), entry(4), [], 0.5));
    const none = await runKSampler({ ...base, cfg: 1, denoise: 0 }, ctx());
    expect(none.ditRuns).toBe(0);
    expect(Array.from(none.latent.samples.data)).toEqual(Array.from(latent.samples.data));
  });

  it('feeds reference latents (uxo ids), style tokens and guidance to the DiT', async () => {
    const styles = [Tensor.float32([1, 3, 8], Float32Array.from({ length: 24 }, (_, i) => i / 24)), Tensor.float32([1, 3, 8], new Float32Array(24).fill(0.5))];
    const m = withModel(await model(), { styles });
    const ref = Tensor.float32([1, 16, 4, 2], Float32Array.from({ length: 128 }, (_, i) => Math.cos(i)));
    const pos = entry(5, { reference_latents: [ref, ref], reference_latents_method: 'uxo', guidance: 2 });
    const empty = { samples: Tensor.zeros([1, 16, 4, 4]) };
    const r = await runKSampler({ model: m, seed: 1n, steps: 2, cfg: 1, samplerName: 'euler', scheduler: 'simple', positive: [pos], negative: [entry(6)], latent: empty, denoise: 1 }, ctx());
    close(r.latent.samples.data, await expected([1, 16, 4, 4], new Float32Array(256), 1, 'euler', 'simple', 2, 1, pos, entry(6), styles));
    // Without the references the result differs (the feed really reaches the graph).
    const plain = await runKSampler({ model: m, seed: 1n, steps: 2, cfg: 1, samplerName: 'euler', scheduler: 'simple', positive: [entry(5, { guidance: 2 })], negative: [entry(6)], latent: empty, denoise: 1 }, ctx());
    expect(Math.abs(plain.latent.samples.data[0]! - r.latent.samples.data[0]!)).toBeGreaterThan(1e-4);
  });

  it('samples a batch of two with one conditioning and a batch_index', async () => {
    const m = await model();
    const pos = entry(8);
    const r = await runKSampler({ model: m, seed: 11n, steps: 2, cfg: 1, samplerName: 'euler', scheduler: 'simple', positive: [pos], negative: [pos], latent: { samples: Tensor.zeros([2, 16, 2, 4]) }, denoise: 1 }, ctx());
    close(r.latent.samples.data, await expected([2, 16, 2, 4], new Float32Array(256), 11, 'euler', 'simple', 2, 1, pos, pos));
    // batch_index [1]: the second draw of a [1, ...] stream, as ComfyUI's LatentFromBatch gives it.
    const one = await runKSampler({ model: m, seed: 11n, steps: 2, cfg: 1, samplerName: 'euler', scheduler: 'simple', positive: [pos], negative: [pos], latent: { samples: Tensor.zeros([1, 16, 2, 4]), batch_index: [1] }, denoise: 1 }, ctx());
    expect(one.latent.batch_index).toEqual([1]);
    const firstOnly = await runKSampler({ model: m, seed: 11n, steps: 2, cfg: 1, samplerName: 'euler', scheduler: 'simple', positive: [pos], negative: [pos], latent: { samples: Tensor.zeros([1, 16, 2, 4]) }, denoise: 1 }, ctx());
    expect(Array.from(one.latent.samples.data)).not.toEqual(Array.from(firstOnly.latent.samples.data));
  });

  it('stops when progress reports an interrupt', async () => {
    const m = await model();
    const c = ctx();
    c.progress = (value) => {
      if (value === 2) throw new InterruptedError();
    };
    await expect(
      runKSampler({ model: m, seed: 1n, steps: 5, cfg: 1, samplerName: 'euler', scheduler: 'simple', positive: [entry(1)], negative: [entry(1)], latent: { samples: Tensor.zeros([1, 16, 2, 2]) }, denoise: 1 }, c),
    ).rejects.toBeInstanceOf(InterruptedError);
    // Step 1 reported and previewed; step 2's progress threw before its preview and before any further DiT run.
    expect(c.previews).toHaveLength(1);
  });

  it('same seed gives the same latent, another seed another one', async () => {
    const m = await model();
    const run = async (seed: number) =>
      ((await kSampler.execute({ model: m, seed, steps: 2, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: [entry(1)], negative: [entry(1)], latent_image: { samples: Tensor.zeros([1, 16, 2, 2]) }, denoise: 1 }, ctx())).outputs as [Latent])[0].samples.data;
    expect(Array.from(await run(5))).toEqual(Array.from(await run(5)));
    expect(Array.from(await run(6))).not.toEqual(Array.from(await run(5)));
  });
});

describe('EasyCache', () => {
  it('wraps the MODEL and really skips DiT runs inside its window', async () => {
    const m = await model();
    const c = ctx();
    const [cached] = (await easyCache.execute({ model: m, reuse_threshold: 0.2, start_percent: 0.15, end_percent: 0.95, verbose: true }, c)).outputs as [ModelDescriptor];
    expect(cached.easyCache).toEqual({ reuseThreshold: 0.2, startPercent: 0.15, endPercent: 0.95, verbose: true });
    expect(m.easyCache).toBeUndefined();
    const inputs = { seed: 3n, steps: 20, cfg: 1, samplerName: 'euler', scheduler: 'simple' as const, positive: [entry(1)], negative: [entry(1)], latent: { samples: Tensor.zeros([1, 16, 8, 8]) }, denoise: 1 };
    const plain = await runKSampler({ ...inputs, model: m }, ctx());
    const fast = await runKSampler({ ...inputs, model: cached }, c);
    expect(plain.ditRuns).toBe(20);
    expect(fast.skipped).toBeGreaterThan(0);
    expect(fast.ditRuns).toBe(20 - fast.skipped);
    expect(c.lines.some((l) => /^info: EasyCache: skipped \d+ of 20 DiT evaluations/.test(l))).toBe(true);
    // Skipping reuses the cached difference: the result stays close to the full run.
    let err = 0;
    let norm = 0;
    for (let i = 0; i < plain.latent.samples.size; i++) {
      err += Math.abs(plain.latent.samples.data[i]! - fast.latent.samples.data[i]!);
      norm += Math.abs(plain.latent.samples.data[i]!);
    }
    expect(err / norm).toBeLessThan(0.2);
  });
});
