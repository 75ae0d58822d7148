/** KSamplerAdvanced (sampling.ts) in workflows, and its step window (flux/sample.ts stepWindow). */
import { afterAll, describe, expect, it } from 'vitest';
import type { ApiPrompt } from '@uso-studio/core';
import { pack } from '../index.ts';
import { capturingEngine, makeTestHost } from '../test-support.ts';
import { stepWindow, type Latent } from '../flux/sample.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const engine = capturingEngine(host.env, pack.nodes);

const BASE: ApiPrompt = {
  '1': { class_type: 'UNETLoader', inputs: { unet_name: 'test-dit.safetensors', weight_dtype: 'default' } },
  '2': { class_type: 'DualCLIPLoader', inputs: { clip_name1: 'test-t5xxl.safetensors', clip_name2: 'test-clip_l.safetensors', type: 'flux' } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: 'a red cat', clip: ['2', 0] } },
  '4': { class_type: 'CLIPTextEncode', inputs: { text: 'a blue dog', clip: ['2', 0] } },
  '5': { class_type: 'EmptySD3LatentImage', inputs: { width: 32, height: 48, batch_size: 1 } },
};

interface Advanced {
  add_noise?: 'enable' | 'disable';
  noise_seed?: number;
  steps?: number;
  cfg?: number;
  sampler_name?: string;
  scheduler?: string;
  start_at_step?: number;
  end_at_step?: number;
  return_with_leftover_noise?: 'enable' | 'disable';
  latent_image?: [string, number];
}

function advanced(o: Advanced): ApiPrompt[string] {
  return {
    class_type: 'KSamplerAdvanced',
    inputs: {
      model: ['1', 0], add_noise: 'enable', noise_seed: 5, steps: 4, cfg: 1, sampler_name: 'euler', scheduler: 'simple',
      positive: ['3', 0], negative: ['4', 0], latent_image: ['5', 0], start_at_step: 0, end_at_step: 10000, return_with_leftover_noise: 'disable',
      ...o,
    },
  };
}

function kSampler(o: { seed?: number; steps?: number; cfg?: number; sampler_name?: string; scheduler?: string }): ApiPrompt[string] {
  return {
    class_type: 'KSampler',
    inputs: { model: ['1', 0], seed: 5, steps: 4, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['3', 0], negative: ['4', 0], latent_image: ['5', 0], denoise: 1, ...o },
  };
}

const capture = (id: string) => ({ class_type: 'TestCapture', inputs: { value: [id, 0] } });
const samples = (v: unknown) => Array.from((v as Latent).samples.data);

describe('KSamplerAdvanced in a workflow', () => {
  it.each([
    ['euler', 'simple', 1],
    ['dpm_2', 'karras', 1],
    ['euler_ancestral', 'beta', 2.5],
  ] as const)('over the whole schedule equals KSampler (%s / %s, cfg %s)', async (sampler_name, scheduler, cfg) => {
    const run = await engine.run({ ...BASE, '10': advanced({ sampler_name, scheduler, cfg }), '11': kSampler({ sampler_name, scheduler, cfg }), '90': capture('10'), '91': capture('11') });
    expect(samples(run.values.get('90'))).toEqual(samples(run.values.get('91')));
  });

  it('two stages (steps 0-2 returning leftover noise, then 2-end without adding noise) give the one-pass latent', async () => {
    const run = await engine.run({
      ...BASE,
      '10': advanced({ end_at_step: 2, return_with_leftover_noise: 'enable' }),
      '11': advanced({ add_noise: 'disable', noise_seed: 999, start_at_step: 2, latent_image: ['10', 0] }),
      '12': kSampler({}),
      '13': advanced({ end_at_step: 2, return_with_leftover_noise: 'disable' }),
      '90': capture('11'),
      '91': capture('12'),
      '92': capture('10'),
      '93': capture('13'),
    });
    const twoStage = samples(run.values.get('90'));
    const onePass = samples(run.values.get('91'));
    // Equal up to float32 rounding: the leftover latent is divided by (1 - sigma) and multiplied back.
    twoStage.forEach((v, i) => expect(Math.abs(v - onePass[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(onePass[i]!))));
    expect(twoStage).not.toEqual(samples(run.values.get('92')));
    // Without leftover noise, the last sigma of the shortened schedule becomes 0: a finished (different) picture.
    expect(samples(run.values.get('93'))).not.toEqual(samples(run.values.get('92')));
  });

  it('a start past the last step returns the latent untouched, channels fixed, without running the DiT', async () => {
    const run = await engine.run({ ...BASE, '10': advanced({ start_at_step: 4 }), '90': capture('10') });
    const out = run.values.get('90') as Latent;
    expect(out.samples.shape).toEqual([1, 16, 6, 4]);
    expect(samples(out).every((v) => v === 0)).toBe(true);
  });
});

describe('stepWindow (KSampler.sample with start_step, last_step, force_full_denoise)', () => {
  const sigmas = [1, 0.75, 0.5, 0.25, 0];
  it('cuts the end, zeroing the new last sigma unless leftover noise is asked for', () => {
    expect(stepWindow(sigmas, 0, 2, true)).toEqual([1, 0.75, 0]);
    expect(stepWindow(sigmas, 0, 2, false)).toEqual([1, 0.75, 0.5]);
    expect(stepWindow(sigmas, 0, 4, true)).toEqual(sigmas);
    expect(stepWindow(sigmas, 0, 10000, true)).toEqual(sigmas);
  });
  it('drops the first steps, and has nothing left when start reaches the last step', () => {
    expect(stepWindow(sigmas, 2, 10000, true)).toEqual([0.5, 0.25, 0]);
    expect(stepWindow(sigmas, 3, 10000, true)).toEqual([0.25, 0]);
    expect(stepWindow(sigmas, 4, 10000, true)).toBeNull();
    expect(stepWindow(sigmas, 1, 1, true)).toBeNull();
    expect(stepWindow(sigmas, 1, 3, false)).toEqual([0.75, 0.5, 0.25]);
  });
});
