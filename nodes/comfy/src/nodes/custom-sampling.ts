/**
 * ComfyUI's custom sampling nodes (comfy_extras/nodes_custom_sampler.py): SamplerCustomAdvanced and the NOISE,
 * GUIDER, SAMPLER and SIGMAS it takes (RandomNoise, DisableNoise, BasicGuider, CFGGuider, KSamplerSelect,
 * BasicScheduler). With RandomNoise + BasicGuider/CFGGuider + KSamplerSelect + BasicScheduler it gives KSampler's
 * latent for the same settings.
 */

import { defineNode } from '@uso-studio/core';
import { basicSchedulerSigmas, modelSamplingFlux, prepareNoise, SCHEDULER_NAMES, Tensor, type SchedulerName } from '@uso-studio/runtime';
import { expectDescriptor, type ModelDescriptor } from '../models/descriptors.ts';
import { expectConditioning } from '../flux/conditioning.ts';
import { guidedSample } from '../flux/guided-sample.ts';
import { expectLatent, fixedLatent, seedOf } from '../flux/sample.ts';
import {
  emptyNoise,
  expectGuider,
  expectNoise,
  expectSampler,
  expectSigmas,
  guiderValue,
  randomNoise,
  samplerValue,
  sigmasValue,
} from '../flux/sampling-values.ts';
import { KSAMPLER_NAMES } from './sampling.ts';

const PACK = 'comfy_extras.nodes_custom_sampler';

export const samplerCustomAdvanced = defineNode({
  name: 'SamplerCustomAdvanced',
  category: 'sampling/custom_sampling',
  pack: PACK,
  inputs: {
    required: {
      noise: { type: 'NOISE' },
      guider: { type: 'GUIDER' },
      sampler: { type: 'SAMPLER' },
      sigmas: { type: 'SIGMAS' },
      latent_image: { type: 'LATENT' },
    },
  },
  outputs: [
    { type: 'LATENT', name: 'output' },
    { type: 'LATENT', name: 'denoised_output' },
  ],
  async execute(inputs, context) {
    const noise = expectNoise(inputs.noise, 'noise');
    const guider = expectGuider(inputs.guider, 'guider');
    const sampler = expectSampler(inputs.sampler, 'sampler');
    const sigmas = expectSigmas(inputs.sigmas, 'sigmas');
    const input = expectLatent(inputs.latent_image, 'latent_image');
    const latent = fixedLatent(input, 'SamplerCustomAdvanced', context);
    // Noise_RandomNoise.generate_noise / Noise_EmptyNoise.generate_noise, on the fixed latent.
    const initial = noise.source === 'random' ? prepareNoise(latent.shape, noise.seed, input.batch_index) : Tensor.zeros(latent.shape);
    const run = await guidedSample(
      {
        model: guider.model,
        positive: guider.positive,
        negative: guider.negative,
        cfg: guider.cfg,
        samplerName: sampler.name,
        sigmas: Array.from(sigmas.data),
        latent,
        noise: initial,
        seed: noise.seed,
        who: 'SamplerCustomAdvanced',
      },
      context,
    );
    const output = { ...input, samples: run.samples };
    // Without a single step there is no x0, and ComfyUI returns the output twice.
    const denoised = run.denoised ? { ...input, samples: run.denoised } : output;
    return { outputs: [output, denoised] };
  },
});

export const randomNoiseNode = defineNode({
  name: 'RandomNoise',
  category: 'sampling/custom_sampling/noise',
  pack: PACK,
  inputs: {
    required: {
      noise_seed: { type: 'INT', default: 0, min: 0, max: 0xffffffffffffffff, control_after_generate: true },
    },
  },
  outputs: [{ type: 'NOISE' }],
  execute(inputs) {
    return { outputs: [randomNoise(seedOf(inputs.noise_seed))] };
  },
});

export const disableNoise = defineNode({
  name: 'DisableNoise',
  category: 'sampling/custom_sampling/noise',
  pack: PACK,
  inputs: { required: {} },
  outputs: [{ type: 'NOISE' }],
  execute() {
    return { outputs: [emptyNoise()] };
  },
});

export const kSamplerSelect = defineNode({
  name: 'KSamplerSelect',
  category: 'sampling/custom_sampling/samplers',
  pack: PACK,
  inputs: { required: { sampler_name: { type: 'COMBO', options: KSAMPLER_NAMES } } },
  outputs: [{ type: 'SAMPLER' }],
  execute(inputs) {
    return { outputs: [samplerValue(String(inputs.sampler_name))] };
  },
});

export const basicScheduler = defineNode({
  name: 'BasicScheduler',
  category: 'sampling/custom_sampling/schedulers',
  pack: PACK,
  inputs: {
    required: {
      model: { type: 'MODEL' },
      scheduler: { type: 'COMBO', options: SCHEDULER_NAMES },
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      denoise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  execute(inputs) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    const sigmas = basicSchedulerSigmas({
      scheduler: String(inputs.scheduler) as SchedulerName,
      steps: Number(inputs.steps),
      denoise: Number(inputs.denoise),
      modelSampling: modelSamplingFlux(model.shift),
    });
    return { outputs: [sigmasValue(sigmas)] };
  },
});

export const basicGuider = defineNode({
  name: 'BasicGuider',
  category: 'sampling/custom_sampling/guiders',
  pack: PACK,
  inputs: {
    required: {
      model: { type: 'MODEL' },
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'GUIDER' }],
  execute(inputs) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    return { outputs: [guiderValue(model, expectConditioning(inputs.conditioning, 'conditioning'), null, 1)] };
  },
});

export const cfgGuider = defineNode({
  name: 'CFGGuider',
  category: 'sampling/custom_sampling/guiders',
  pack: PACK,
  inputs: {
    required: {
      model: { type: 'MODEL' },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      cfg: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
    },
  },
  outputs: [{ type: 'GUIDER' }],
  execute(inputs) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    const positive = expectConditioning(inputs.positive, 'positive');
    const negative = expectConditioning(inputs.negative, 'negative');
    return { outputs: [guiderValue(model, positive, negative, Number(inputs.cfg))] };
  },
});
