import { afterAll, describe, expect, it } from 'vitest';
import { NodeRegistry, validatePrompt, type ApiPrompt } from '@uso-studio/core';
import {
  basicSchedulerSigmas,
  calculateSigmas,
  ksample,
  ksamplerSigmas,
  modelSamplingFlux,
  prepareNoise,
  processLatentOut,
  SAMPLERS,
  implementedSamplerNames,
  SCHEDULER_NAMES,
  type Denoiser,
  type Tensor,
} from '@uso-studio/runtime';
import { pack } from '../index.ts';
import { capturingEngine, makeTestHost, referenceVelocity } from '../test-support.ts';
import type { Latent } from '../flux/sample.ts';
import type { Conditioning } from '../flux/conditioning.ts';
import type { GuiderValue, NoiseValue, SamplerValue } from '../flux/sampling-values.ts';
import { KSAMPLER_NAMES } from './sampling.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const engine = capturingEngine(host.env, pack.nodes);

/** Loaders, two prompts and an empty 32x48 SD3 latent ([1, 16, 4, 6]); node ids 1-6. */
const BASE: ApiPrompt = {
  '1': { class_type: 'UNETLoader', inputs: { unet_name: 'test-dit.safetensors', weight_dtype: 'default' } },
  '2': { class_type: 'DualCLIPLoader', inputs: { clip_name1: 'test-t5xxl.safetensors', clip_name2: 'test-clip_l.safetensors', type: 'flux' } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: 'a red cat on the grass', clip: ['2', 0] } },
  '4': { class_type: 'CLIPTextEncode', inputs: { text: 'a blue dog', clip: ['2', 0] } },
  '5': { class_type: 'EmptySD3LatentImage', inputs: { width: 48, height: 32, batch_size: 1 } },
  '6': { class_type: 'FluxGuidance', inputs: { conditioning: ['3', 0], guidance: 4 } },
};

function kSamplerPrompt(o: { seed: number; steps: number; cfg: number; sampler: string; scheduler: string; denoise?: number; latent?: [string, number] }): ApiPrompt {
  return {
    '20': {
      class_type: 'KSampler',
      inputs: {
        model: ['1', 0], seed: o.seed, steps: o.steps, cfg: o.cfg, sampler_name: o.sampler, scheduler: o.scheduler,
        positive: ['6', 0], negative: ['4', 0], latent_image: o.latent ?? ['5', 0], denoise: o.denoise ?? 1,
      },
    },
    '29': { class_type: 'TestCapture', inputs: { value: ['20', 0] } },
  };
}

function customPrompt(o: { seed: number; steps: number; sampler: string; scheduler: string; denoise?: number; guider: 'basic' | 'cfg'; cfg?: number; noise?: 'random' | 'disable'; latent?: [string, number] }): ApiPrompt {
  return {
    '10': o.noise === 'disable' ? { class_type: 'DisableNoise', inputs: {} } : { class_type: 'RandomNoise', inputs: { noise_seed: o.seed } },
    '11':
      o.guider === 'basic'
        ? { class_type: 'BasicGuider', inputs: { model: ['1', 0], conditioning: ['6', 0] } }
        : { class_type: 'CFGGuider', inputs: { model: ['1', 0], positive: ['6', 0], negative: ['4', 0], cfg: o.cfg ?? 1 } },
    '12': { class_type: 'KSamplerSelect', inputs: { sampler_name: o.sampler } },
    '13': { class_type: 'BasicScheduler', inputs: { model: ['1', 0], scheduler: o.scheduler, steps: o.steps, denoise: o.denoise ?? 1 } },
    '14': {
      class_type: 'SamplerCustomAdvanced',
      inputs: { noise: ['10', 0], guider: ['11', 0], sampler: ['12', 0], sigmas: ['13', 0], latent_image: o.latent ?? ['5', 0] },
    },
    '30': { class_type: 'TestCapture', inputs: { value: ['14', 0] } },
    '31': { class_type: 'TestCapture', inputs: { value: ['14', 1] } },
    '32': { class_type: 'TestCapture', inputs: { value: ['13', 0] } },
    '33': { class_type: 'TestCapture', inputs: { value: ['11', 0] } },
    '34': { class_type: 'TestCapture', inputs: { value: ['6', 0] } },
  };
}

const samplesOf = (v: unknown) => Array.from((v as Latent).samples.data);

describe('SamplerCustomAdvanced with RandomNoise, a guider, KSamplerSelect and BasicScheduler', () => {
  it.each([
    ['euler', 'simple', 4, 1],
    ['euler_ancestral', 'normal', 3, 1],
    ['heun', 'karras', 2, 1],
    ['dpmpp_2m', 'beta', 3, 1],
    ['euler', 'simple', 4, 0.5],
  ] as const)('gives exactly KSampler’s latent (%s / %s, %i steps, denoise %s, BasicGuider vs cfg 1)', async (sampler, scheduler, steps, denoise) => {
    const seed = 1234;
    const custom = await engine.run({ ...BASE, ...customPrompt({ seed, steps, sampler, scheduler, denoise, guider: 'basic' }) });
    const reference = await engine.run({ ...BASE, ...kSamplerPrompt({ seed, steps, cfg: 1, sampler, scheduler, denoise }) });
    const out = custom.values.get('30') as Latent;
    expect(out.samples.shape).toEqual([1, 16, 4, 6]);
    expect(samplesOf(out)).toEqual(samplesOf(reference.values.get('29')));
    // The sampler really moved the latent away from the noise it started from.
    expect(samplesOf(out).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('CFGGuider at cfg 1 equals BasicGuider, and at cfg 3 equals KSampler at cfg 3 (negative evaluated)', async () => {
    const o = { seed: 9, steps: 3, sampler: 'euler', scheduler: 'simple' } as const;
    const basic = await engine.run({ ...BASE, ...customPrompt({ ...o, guider: 'basic' }) });
    const cfg1 = await engine.run({ ...BASE, ...customPrompt({ ...o, guider: 'cfg', cfg: 1 }) });
    expect(samplesOf(cfg1.values.get('30'))).toEqual(samplesOf(basic.values.get('30')));
    const cfg3 = await engine.run({ ...BASE, ...customPrompt({ ...o, guider: 'cfg', cfg: 3 }) });
    const k3 = await engine.run({ ...BASE, ...kSamplerPrompt({ ...o, cfg: 3 }) });
    expect(samplesOf(cfg3.values.get('30'))).toEqual(samplesOf(k3.values.get('29')));
    expect(samplesOf(cfg3.values.get('30'))).not.toEqual(samplesOf(cfg1.values.get('30')));
    const guider = cfg3.values.get('33') as GuiderValue;
    expect(guider).toMatchObject({ kind: 'GUIDER', cfg: 3 });
    expect((basic.values.get('33') as GuiderValue).negative).toBeNull();
  });

  it.each(['euler_cfg_pp', 'dpmpp_2m_cfg_pp'])('CFGGuider with the CFG++ sampler %s equals KSampler, even at cfg 1 (both streams read)', async (sampler) => {
    if (!implementedSamplerNames().includes(sampler as never)) throw new Error(`${sampler} is not in the registry`);
    for (const cfg of [1, 1.5]) {
      const o = { seed: 21, steps: 3, sampler, scheduler: 'simple', cfg } as const;
      const custom = await engine.run({ ...BASE, ...customPrompt({ ...o, guider: 'cfg' }) });
      const reference = await engine.run({ ...BASE, ...kSamplerPrompt(o) });
      expect(samplesOf(custom.values.get('30'))).toEqual(samplesOf(reference.values.get('29')));
    }
    // BasicGuider has no negative stream: CFG++ then reads zeros for it, so it differs from CFGGuider at cfg 1.
    const basic = await engine.run({ ...BASE, ...customPrompt({ seed: 21, steps: 3, sampler, scheduler: 'simple', guider: 'basic' }) });
    const cfg1 = await engine.run({ ...BASE, ...customPrompt({ seed: 21, steps: 3, sampler, scheduler: 'simple', guider: 'cfg', cfg: 1 }) });
    expect(samplesOf(basic.values.get('30'))).not.toEqual(samplesOf(cfg1.values.get('30')));
  });

  it("gives denoised_output: process_latent_out of the last step's x0, computed independently", async () => {
    const o = { seed: 5, steps: 3, sampler: 'euler', scheduler: 'simple', guider: 'basic' } as const;
    const run = await engine.run({ ...BASE, ...customPrompt(o) });
    const positive = run.values.get('34') as Conditioning;
    const shape = [1, 16, 4, 6];
    const v = referenceVelocity(shape, positive[0]!);
    let last = new Float32Array(0);
    // The test DiT in JavaScript, in the latent layout; x0 = x - v * sigma (float32) at each step.
    const denoise: Denoiser = async (x, s) => {
      const vel = await v(x, s);
      last = Float32Array.from(x, (xv, k) => xv - Math.fround(vel[k]! * Math.fround(s)));
      return last;
    };
    const sigmas = calculateSigmas(modelSamplingFlux(), 'simple', 3);
    const output = await ksample(denoise, { sampler: 'euler', sigmas, latent: new Float32Array(16 * 24), noise: prepareNoise(shape, 5).data, seed: 5 });
    const close = (a: number[], b: ArrayLike<number>) => a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(b[i]!))));
    close(samplesOf(run.values.get('30')), output);
    close(samplesOf(run.values.get('31')), processLatentOut(last));
    // x0 of the last step is not the final latent (euler's last step lands on it only up to rounding and process_out).
    expect(samplesOf(run.values.get('31'))).not.toEqual(samplesOf(run.values.get('30')));
  });

  it('DisableNoise samples from the latent alone (zeros for noise, seed 0)', async () => {
    // A non-empty latent: VAE space values from a first KSampler pass.
    const first = await engine.run({ ...BASE, ...kSamplerPrompt({ seed: 3, steps: 2, cfg: 1, sampler: 'euler', scheduler: 'simple' }) });
    const latent = first.values.get('29') as Latent;
    const withLatent = (p: ApiPrompt): ApiPrompt => ({ ...BASE, '40': { class_type: 'KSampler', inputs: { ...kSamplerPrompt({ seed: 3, steps: 2, cfg: 1, sampler: 'euler', scheduler: 'simple' })['20']!.inputs } }, ...p });
    const disabled = await engine.run(withLatent(customPrompt({ seed: 0, steps: 2, sampler: 'euler', scheduler: 'simple', denoise: 0.5, guider: 'basic', noise: 'disable', latent: ['40', 0] })));
    expect((disabled.values.get('33') as GuiderValue).kind).toBe('GUIDER');
    // KSamplerAdvanced with add_noise disabled is the same computation.
    const advanced = await engine.run(
      withLatent({
        '50': {
          class_type: 'KSamplerAdvanced',
          inputs: {
            model: ['1', 0], add_noise: 'disable', noise_seed: 77, steps: 4, cfg: 1, sampler_name: 'euler', scheduler: 'simple',
            positive: ['6', 0], negative: ['4', 0], latent_image: ['40', 0], start_at_step: 2, end_at_step: 10000, return_with_leftover_noise: 'disable',
          },
        },
        '51': { class_type: 'TestCapture', inputs: { value: ['50', 0] } },
      }),
    );
    expect(samplesOf(disabled.values.get('30'))).toEqual(samplesOf(advanced.values.get('51')));
    expect(samplesOf(disabled.values.get('30'))).not.toEqual(samplesOf(latent));
  });

  it('returns the latent unchanged for an empty schedule (denoise 0), both outputs', async () => {
    const run = await engine.run({ ...BASE, ...customPrompt({ seed: 1, steps: 3, sampler: 'euler', scheduler: 'simple', denoise: 0, guider: 'basic' }) });
    expect((run.values.get('32') as Tensor<'float32'>).shape).toEqual([0]);
    const out = run.values.get('30') as Latent;
    expect(out.samples.shape).toEqual([1, 16, 4, 6]); // fix_empty_latent_channels still applies
    expect(samplesOf(out).every((v) => v === 0)).toBe(true);
    expect(run.values.get('31')).toBe(out);
  });

  it('re-runs only RandomNoise and the sampler when the noise seed changes (values cache like any other)', async () => {
    const o = { steps: 2, sampler: 'euler', scheduler: 'simple', guider: 'basic' } as const;
    const a = await engine.run({ ...BASE, ...customPrompt({ ...o, seed: 100 }) });
    const again = await engine.run({ ...BASE, ...customPrompt({ ...o, seed: 100 }) });
    expect(again.executed.filter((id) => !id.startsWith('3'))).toEqual([]);
    const b = await engine.run({ ...BASE, ...customPrompt({ ...o, seed: 101 }) });
    expect(b.executed.filter((id) => !id.startsWith('3')).sort()).toEqual(['10', '14']);
    expect(samplesOf(b.values.get('30'))).not.toEqual(samplesOf(a.values.get('30')));
    expect(a.values.get('30')).toEqual(again.values.get('30'));
  });
});

describe('the custom sampling nodes one by one', () => {
  it('RandomNoise carries its seed (up to 2^64 - 1), DisableNoise a seed of 0', async () => {
    const run = await engine.run({
      '1': { class_type: 'RandomNoise', inputs: { noise_seed: 2 ** 53 } },
      '2': { class_type: 'DisableNoise', inputs: {} },
      '8': { class_type: 'TestCapture', inputs: { value: ['1', 0] } },
      '9': { class_type: 'TestCapture', inputs: { value: ['2', 0] } },
    });
    expect(run.values.get('8') as NoiseValue).toEqual({ kind: 'NOISE', source: 'random', seed: 2n ** 53n });
    expect(run.values.get('9') as NoiseValue).toEqual({ kind: 'NOISE', source: 'empty', seed: 0n });
  });

  it("KSamplerSelect offers every sampler of runtime's registry, and validation refuses others", async () => {
    const info = new NodeRegistry(pack.nodes).objectInfo(host.env);
    // Every registered sampler, in ComfyUI's order (SAMPLER_NAMES filtered to what runtime implements).
    expect(info.KSamplerSelect!.input.required.sampler_name![0]).toEqual(implementedSamplerNames());
    expect([...KSAMPLER_NAMES].sort()).toEqual(Object.keys(SAMPLERS).sort());
    const run = await engine.run({ '1': { class_type: 'KSamplerSelect', inputs: { sampler_name: 'heun' } }, '9': { class_type: 'TestCapture', inputs: { value: ['1', 0] } } });
    expect(run.values.get('9') as SamplerValue).toEqual({ kind: 'SAMPLER', name: 'heun' });
    const bad = await validatePrompt(
      { '1': { class_type: 'KSamplerSelect', inputs: { sampler_name: 'no_such_sampler' } }, '9': { class_type: 'Out', inputs: { sampler: ['1', 0] } } },
      new NodeRegistry([...pack.nodes, { name: 'Out', category: 't', outputNode: true, inputs: { required: { sampler: { type: 'SAMPLER' } } }, outputs: [], execute: () => ({ ui: {} }) }]),
      host.env,
    );
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad.nodeErrors['1'])).toContain('value_not_in_list');
  });

  it('a link of the wrong wire type is refused by validation (NOISE into GUIDER)', async () => {
    const registry = new NodeRegistry([...pack.nodes, { name: 'Out', category: 't', outputNode: true, inputs: { required: { samples: { type: 'LATENT' } } }, outputs: [], execute: () => ({ ui: {} }) }]);
    const result = await validatePrompt(
      {
        '1': { class_type: 'DisableNoise', inputs: {} },
        '2': { class_type: 'KSamplerSelect', inputs: { sampler_name: 'euler' } },
        '3': { class_type: 'UNETLoader', inputs: { unet_name: 'test-dit.safetensors', weight_dtype: 'default' } },
        '4': { class_type: 'BasicScheduler', inputs: { model: ['3', 0], scheduler: 'simple', steps: 2, denoise: 1 } },
        '5': { class_type: 'EmptySD3LatentImage', inputs: { width: 16, height: 16, batch_size: 1 } },
        '6': { class_type: 'SamplerCustomAdvanced', inputs: { noise: ['1', 0], guider: ['1', 0], sampler: ['2', 0], sigmas: ['4', 0], latent_image: ['5', 0] } },
        '9': { class_type: 'Out', inputs: { samples: ['6', 0] } },
      },
      registry,
      host.env,
    );
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result.nodeErrors['6'])).toContain('return_type_mismatch');
  });

  it('BasicScheduler gives the MODEL’s sigmas for every ComfyUI scheduler, with denoise taking the tail', async () => {
    for (const scheduler of SCHEDULER_NAMES) {
      const run = await engine.run({
        '1': { class_type: 'UNETLoader', inputs: { unet_name: 'test-dit.safetensors', weight_dtype: 'default' } },
        '2': { class_type: 'BasicScheduler', inputs: { model: ['1', 0], scheduler, steps: 5, denoise: 1 } },
        '3': { class_type: 'BasicScheduler', inputs: { model: ['1', 0], scheduler, steps: 5, denoise: 0.4 } },
        '8': { class_type: 'TestCapture', inputs: { value: ['2', 0] } },
        '9': { class_type: 'TestCapture', inputs: { value: ['3', 0] } },
      });
      const full = run.values.get('8') as Tensor<'float32'>;
      expect(full.shape).toEqual([6]);
      expect(Array.from(full.data)).toEqual(calculateSigmas(modelSamplingFlux(), scheduler, 5));
      expect(Array.from((run.values.get('9') as Tensor<'float32'>).data)).toEqual(calculateSigmas(modelSamplingFlux(), scheduler, 12).slice(-6));
    }
  });
});

describe('basicSchedulerSigmas against KSampler.set_steps', () => {
  it('matches KSampler except for the samplers that drop the penultimate sigma (the scheduler does not know the sampler)', () => {
    expect(ksamplerSigmas({ scheduler: 'simple', steps: 3, sampler: 'dpm_2' })).not.toEqual(basicSchedulerSigmas({ scheduler: 'simple', steps: 3 }));
    expect(basicSchedulerSigmas({ scheduler: 'karras', steps: 4, denoise: 0.5 })).toEqual(ksamplerSigmas({ scheduler: 'karras', steps: 4, denoise: 0.5 }));
    expect(basicSchedulerSigmas({ scheduler: 'simple', steps: 4, denoise: -1 })).toEqual([]);
    expect(() => basicSchedulerSigmas({ scheduler: 'simple', steps: 0 })).toThrow(/steps/);
  });
});
