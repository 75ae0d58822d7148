import { afterAll, describe, expect, it } from 'vitest';
import type { ApiPrompt } from '@uso-studio/core';
import { calculateSigmas, fluxTimeShift, modelSamplingFlux, type Tensor } from '@uso-studio/runtime';
import { pack } from '../index.ts';
import { capturingEngine, makeTestHost } from '../test-support.ts';
import type { Latent } from '../flux/sample.ts';
import type { ModelDescriptor } from '../models/descriptors.ts';
import { fluxShift } from './model-sampling.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const engine = capturingEngine(host.env, pack.nodes);

describe('fluxShift (ModelSamplingFlux.patch)', () => {
  it('is base_shift at 256 tokens and max_shift at 4096, linear in between and beyond', () => {
    expect(fluxShift(1.15, 0.5, 1024, 1024)).toBeCloseTo(1.15, 12);
    expect(fluxShift(1.15, 0.5, 256, 256)).toBeCloseTo(0.5, 12);
    // 512x512 is 1024 tokens: 0.5 + 0.65 * 768 / 3840.
    expect(fluxShift(1.15, 0.5, 512, 512)).toBeCloseTo(0.63, 12);
    expect(fluxShift(1.15, 0.5, 2048, 2048)).toBeCloseTo(0.5 + (0.65 * (16384 - 256)) / 3840, 12);
  });
});

describe('ModelSamplingFlux in a workflow', () => {
  function prompt(width: number, height: number): ApiPrompt {
    return {
      '1': { class_type: 'UNETLoader', inputs: { unet_name: 'test-dit.safetensors', weight_dtype: 'default' } },
      '2': { class_type: 'ModelSamplingFlux', inputs: { model: ['1', 0], max_shift: 1.15, base_shift: 0.5, width, height } },
      '3': { class_type: 'BasicScheduler', inputs: { model: ['2', 0], scheduler: 'simple', steps: 4, denoise: 1 } },
      '4': { class_type: 'DualCLIPLoader', inputs: { clip_name1: 'test-t5xxl.safetensors', clip_name2: 'test-clip_l.safetensors', type: 'flux' } },
      '5': { class_type: 'CLIPTextEncode', inputs: { text: 'a red cat', clip: ['4', 0] } },
      '6': { class_type: 'EmptySD3LatentImage', inputs: { width: 16, height: 16, batch_size: 1 } },
      '7': { class_type: 'KSampler', inputs: { model: ['2', 0], seed: 1, steps: 3, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['5', 0], negative: ['5', 0], latent_image: ['6', 0], denoise: 1 } },
      '8': { class_type: 'KSampler', inputs: { model: ['1', 0], seed: 1, steps: 3, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['5', 0], negative: ['5', 0], latent_image: ['6', 0], denoise: 1 } },
      '90': { class_type: 'TestCapture', inputs: { value: ['2', 0] } },
      '91': { class_type: 'TestCapture', inputs: { value: ['3', 0] } },
      '92': { class_type: 'TestCapture', inputs: { value: ['7', 0] } },
      '93': { class_type: 'TestCapture', inputs: { value: ['8', 0] } },
      '94': { class_type: 'TestCapture', inputs: { value: ['1', 0] } },
    };
  }

  it("gives a MODEL whose sigmas follow the shift of the image size; the input MODEL is untouched", async () => {
    const run = await engine.run(prompt(512, 512));
    const patched = run.values.get('90') as ModelDescriptor;
    expect(patched.shift).toBeCloseTo(0.63, 12);
    expect((run.values.get('94') as ModelDescriptor).shift).toBe(1.15);
    const sigmas = Array.from((run.values.get('91') as Tensor<'float32'>).data);
    expect(sigmas).toEqual(calculateSigmas(modelSamplingFlux(patched.shift), 'simple', 4));
    // simple's second sigma is the table entry at 3/4 of the way: sigma(t = 0.75) with the new shift.
    expect(sigmas[1]).toBeCloseTo(fluxTimeShift(patched.shift, 1, 0.75), 5);
    // Sampling sees the new schedule: the latent differs from the unpatched model's.
    const a = Array.from((run.values.get('92') as Latent).samples.data);
    const b = Array.from((run.values.get('93') as Latent).samples.data);
    expect(a).not.toEqual(b);
  });

  it('at 1024x1024 with the defaults it is FLUX.1-dev\'s own sampling (shift 1.15): same latent as the plain MODEL', async () => {
    const run = await engine.run(prompt(1024, 1024));
    expect((run.values.get('90') as ModelDescriptor).shift).toBeCloseTo(1.15, 12);
    // 1.15 up to the last double bit: the float32 schedule is the same.
    expect(Array.from((run.values.get('92') as Latent).samples.data)).toEqual(Array.from((run.values.get('93') as Latent).samples.data));
  });
});
