/** KSampler, KSamplerAdvanced and EasyCache. */

import { defineNode } from '@uso-studio/core';
import { implementedSamplerNames, SCHEDULER_NAMES, type SchedulerName } from '@uso-studio/runtime';
import { expectDescriptor, withModel, type ModelDescriptor } from '../models/descriptors.ts';
import { expectConditioning } from '../flux/conditioning.ts';
import { expectLatent, runKSampler, runKSamplerAdvanced, seedOf } from '../flux/sample.ts';

/** The sampler names offered: the ones runtime implements, in ComfyUI's list order. */
export const KSAMPLER_NAMES: readonly string[] = implementedSamplerNames();

export const kSampler = defineNode({
  name: 'KSampler',
  category: 'sampling',
  description: 'Uses the provided model, positive and negative conditioning to denoise the latent image.',
  pack: 'nodes',
  inputs: {
    required: {
      model: { type: 'MODEL', tooltip: 'The model used for denoising the input latent.' },
      seed: {
        type: 'INT',
        default: 0,
        min: 0,
        max: 0xffffffffffffffff,
        control_after_generate: true,
        tooltip: 'The random seed used for creating the noise.',
      },
      steps: { type: 'INT', default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' },
      cfg: {
        type: 'FLOAT',
        default: 8.0,
        min: 0.0,
        max: 100.0,
        step: 0.1,
        round: 0.01,
        tooltip: 'The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values result in images more closely matching the prompt however too high values will negatively impact quality.',
      },
      sampler_name: { type: 'COMBO', options: KSAMPLER_NAMES, tooltip: 'The algorithm used when sampling, this can affect the quality, speed, and style of the generated output.' },
      scheduler: { type: 'COMBO', options: SCHEDULER_NAMES, tooltip: 'The scheduler controls how noise is gradually removed to form the image.' },
      positive: { type: 'CONDITIONING', tooltip: 'The conditioning describing the attributes you want to include in the image.' },
      negative: { type: 'CONDITIONING', tooltip: 'The conditioning describing the attributes you want to exclude from the image.' },
      latent_image: { type: 'LATENT', tooltip: 'The latent image to denoise.' },
      denoise: {
        type: 'FLOAT',
        default: 1.0,
        min: 0.0,
        max: 1.0,
        step: 0.01,
        tooltip: 'The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling.',
      },
    },
  },
  outputs: [{ type: 'LATENT', tooltip: 'The denoised latent.' }],
  async execute(inputs, context) {
    const { latent } = await runKSampler(
      {
        model: expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model'),
        seed: seedOf(inputs.seed),
        steps: Number(inputs.steps),
        cfg: Number(inputs.cfg),
        samplerName: String(inputs.sampler_name),
        scheduler: String(inputs.scheduler) as SchedulerName,
        positive: expectConditioning(inputs.positive, 'positive'),
        negative: expectConditioning(inputs.negative, 'negative'),
        latent: expectLatent(inputs.latent_image, 'latent_image'),
        denoise: Number(inputs.denoise),
      },
      context,
    );
    return { outputs: [latent] };
  },
});

export const kSamplerAdvanced = defineNode({
  name: 'KSamplerAdvanced',
  displayName: 'KSampler (Advanced)',
  category: 'sampling',
  pack: 'nodes',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      add_noise: { type: 'COMBO', options: ['enable', 'disable'] },
      noise_seed: { type: 'INT', default: 0, min: 0, max: 0xffffffffffffffff, control_after_generate: true },
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      cfg: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      sampler_name: { type: 'COMBO', options: KSAMPLER_NAMES },
      scheduler: { type: 'COMBO', options: SCHEDULER_NAMES },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      latent_image: { type: 'LATENT' },
      start_at_step: { type: 'INT', default: 0, min: 0, max: 10000 },
      end_at_step: { type: 'INT', default: 10000, min: 0, max: 10000 },
      return_with_leftover_noise: { type: 'COMBO', options: ['disable', 'enable'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  async execute(inputs, context) {
    const { latent } = await runKSamplerAdvanced(
      {
        model: expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model'),
        addNoise: inputs.add_noise !== 'disable',
        seed: seedOf(inputs.noise_seed),
        steps: Number(inputs.steps),
        cfg: Number(inputs.cfg),
        samplerName: String(inputs.sampler_name),
        scheduler: String(inputs.scheduler) as SchedulerName,
        positive: expectConditioning(inputs.positive, 'positive'),
        negative: expectConditioning(inputs.negative, 'negative'),
        latent: expectLatent(inputs.latent_image, 'latent_image'),
        startAtStep: Number(inputs.start_at_step),
        endAtStep: Number(inputs.end_at_step),
        returnWithLeftoverNoise: inputs.return_with_leftover_noise === 'enable',
      },
      context,
    );
    return { outputs: [latent] };
  },
});

export const easyCache = defineNode({
  name: 'EasyCache',
  displayName: 'EasyCache',
  category: 'advanced/debug/model',
  description: 'Native EasyCache implementation.',
  pack: 'comfy_extras.nodes_easycache',
  // An io.Schema node marked is_experimental in ComfyUI 0.3.64.
  comfyApi: 'v3',
  experimental: true,
  inputs: {
    required: {
      model: { type: 'MODEL', tooltip: 'The model to add EasyCache to.' },
      reuse_threshold: { type: 'FLOAT', default: 0.2, min: 0.0, max: 3.0, step: 0.01, tooltip: 'The threshold for reusing cached steps.' },
      start_percent: { type: 'FLOAT', default: 0.15, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The relative sampling step to begin use of EasyCache.' },
      end_percent: { type: 'FLOAT', default: 0.95, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The relative sampling step to end use of EasyCache.' },
      verbose: { type: 'BOOLEAN', default: false, tooltip: 'Whether to log verbose information.' },
    },
  },
  outputs: [{ type: 'MODEL', tooltip: 'The model with EasyCache.' }],
  execute(inputs) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    return {
      outputs: [
        withModel(model, {
          easyCache: {
            reuseThreshold: Number(inputs.reuse_threshold),
            startPercent: Number(inputs.start_percent),
            endPercent: Number(inputs.end_percent),
            verbose: Boolean(inputs.verbose),
          },
        }),
      ],
    };
  },
});
