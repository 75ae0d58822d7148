/**
 * ComfyUI's KSampler and KSamplerAdvanced for FLUX models, minus the node shells (common_ksampler and
 * KSampler.sample): fix_empty_latent_channels, prepare_noise from the seed (or zeros), the scheduler's sigmas with
 * denoise, KSamplerAdvanced's step window, then the guided sampling every sampler node shares (guided-sample.ts).
 */

import { Tensor, fixEmptyLatentChannels, ksamplerSigmas, modelSamplingFlux, prepareNoise, type SchedulerName } from '@uso-studio/runtime';
import type { ExecutionContext } from '@uso-studio/core';
import type { ModelDescriptor } from '../models/descriptors.ts';
import type { Conditioning } from './conditioning.ts';
import { guidedSample } from './guided-sample.ts';

/** LATENT values: samples [B, C, h, w] plus ComfyUI's optional keys. */
export interface Latent {
  readonly samples: Tensor<'float32'>;
  readonly batch_index?: readonly number[];
  readonly noise_mask?: Tensor<'float32'>;
}

/** Checks a socket value is a LATENT. */
export function expectLatent(value: unknown, input: string): Latent {
  const samples = (value as Latent | null)?.samples;
  if (!(samples instanceof Tensor) || samples.shape.length !== 4) {
    throw new TypeError(`input '${input}' must be a LATENT ({samples: [B, C, h, w]})`);
  }
  return value as Latent;
}

/** Seeds from the widget: integers up to 2^64 - 1, possibly past 2^53 (then only approximately what was typed). */
export function seedOf(value: unknown): bigint {
  if (typeof value === 'bigint') return BigInt.asUintN(64, value);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new RangeError(`seed must be an integer, got ${String(value)}`);
  return BigInt.asUintN(64, BigInt(Math.trunc(n)));
}

/** What KSampler needs. */
export interface KSamplerInputs {
  model: ModelDescriptor;
  seed: bigint;
  steps: number;
  cfg: number;
  samplerName: string;
  scheduler: SchedulerName;
  positive: Conditioning;
  negative: Conditioning;
  latent: Latent;
  denoise: number;
}

/** What a KSampler run gives back. */
export interface KSamplerResult {
  latent: Latent;
  ditRuns: number;
  skipped: number;
}

/** fix_empty_latent_channels for FLUX (16 channels), warning once about what is not supported. */
export function fixedLatent(latent: Latent, who: string, context: ExecutionContext): Tensor<'float32'> {
  if (latent.noise_mask) context.log.warn(`${who}: noise_mask (inpainting) is not supported; the whole latent is sampled`);
  return fixEmptyLatentChannels(latent.samples, 16);
}

/** Runs KSampler and returns the new LATENT (a copy of the input's keys with new samples). */
export async function runKSampler(inputs: KSamplerInputs, context: ExecutionContext): Promise<KSamplerResult> {
  // 1. Latent and noise.
  const latent = fixedLatent(inputs.latent, 'KSampler', context);
  const noise = prepareNoise(latent.shape, inputs.seed, inputs.latent.batch_index);
  // 2. Sigmas (KSampler.set_steps).
  const sigmas = ksamplerSigmas({
    scheduler: inputs.scheduler,
    steps: inputs.steps,
    denoise: inputs.denoise,
    sampler: inputs.samplerName,
    modelSampling: modelSamplingFlux(inputs.model.shift),
  });
  // 3. CFGGuider.sample.
  const run = await guidedSample(
    { ...inputs, negative: inputs.negative, latent, noise, sigmas, who: 'KSampler' },
    context,
  );
  return { latent: { ...inputs.latent, samples: run.samples }, ditRuns: run.ditRuns, skipped: run.skipped };
}

/** What KSamplerAdvanced adds to KSampler (its denoise is always 1). */
export interface KSamplerAdvancedInputs extends Omit<KSamplerInputs, 'denoise'> {
  /** add_noise: false starts from the latent alone (zeros for noise; the sampler's own noise still uses the seed). */
  addNoise: boolean;
  startAtStep: number;
  endAtStep: number;
  /** return_with_leftover_noise: false sets the last sigma of a shortened schedule to 0 (force_full_denoise). */
  returnWithLeftoverNoise: boolean;
}

/**
 * KSampler.sample's step window on the full schedule: end_at_step cuts it to sigmas[0..end] (its last sigma set to 0
 * unless leftover noise is asked for), start_at_step drops the first sigmas; null when start_at_step leaves no step
 * (ComfyUI then returns the latent untouched).
 */
export function stepWindow(sigmas: readonly number[], startAtStep: number, endAtStep: number, forceFullDenoise: boolean): number[] | null {
  let out = [...sigmas];
  if (endAtStep < out.length - 1) {
    out = out.slice(0, endAtStep + 1);
    if (forceFullDenoise) out[out.length - 1] = 0;
  }
  if (startAtStep < out.length - 1) return out.slice(startAtStep);
  return null;
}

/** Runs KSamplerAdvanced (common_ksampler with disable_noise, start_step, last_step and force_full_denoise). */
export async function runKSamplerAdvanced(inputs: KSamplerAdvancedInputs, context: ExecutionContext): Promise<KSamplerResult> {
  const latent = fixedLatent(inputs.latent, 'KSamplerAdvanced', context);
  const noise = inputs.addNoise ? prepareNoise(latent.shape, inputs.seed, inputs.latent.batch_index) : Tensor.zeros(latent.shape);
  const full = ksamplerSigmas({
    scheduler: inputs.scheduler,
    steps: inputs.steps,
    sampler: inputs.samplerName,
    modelSampling: modelSamplingFlux(inputs.model.shift),
  });
  const sigmas = stepWindow(full, inputs.startAtStep, inputs.endAtStep, !inputs.returnWithLeftoverNoise);
  if (!sigmas) return { latent: { ...inputs.latent, samples: latent }, ditRuns: 0, skipped: 0 };
  const run = await guidedSample({ ...inputs, latent, noise, sigmas, who: 'KSamplerAdvanced' }, context);
  return { latent: { ...inputs.latent, samples: run.samples }, ditRuns: run.ditRuns, skipped: run.skipped };
}
