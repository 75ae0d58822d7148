/**
 * ComfyUI's KSampler for FLUX models, minus the node shell: fix_empty_latent_channels, prepare_noise from the seed,
 * the scheduler's sigmas with denoise, one velocity model per conditioning entry (wrapped by EasyCache when the
 * MODEL asks for it), the weighted average of entries, runtime's CFG (the negative is not evaluated at cfg 1 unless a CFG++ sampler
 * needs it), runtime's
 * ksample (process_in/out and noise scaling), progress and previews per step.
 */

import {
  Tensor,
  cfgGuidance,
  defaultNoiseSampler,
  denoiserFromVelocity,
  getSampler,
  isCfgOne,
  fixEmptyLatentChannels,
  ksample,
  ksamplerSigmas,
  modelSamplingFlux,
  percentToSigma,
  prepareNoise,
  withEasyCache,
  type EasyCachedModel,
  type EasyCacheOptions,
  type SchedulerName,
  type VelocityModel,
} from '@uso-studio/runtime';
import type { ExecutionContext } from '@uso-studio/core';
import type { ModelDescriptor } from '../models/descriptors.ts';
import { getModelService } from '../models/model-service.ts';
import type { Conditioning } from './conditioning.ts';
import { ditVelocityModel } from './dit-runner.ts';
import { comfyReferenceIds, LatentPacking } from './packing.ts';
import { offerLatentPreview } from './preview.ts';

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

/** Averages entry predictions by strength, as ComfyUI's calc_cond_batch does for entries without areas or masks. */
function averaged(models: readonly VelocityModel[], weights: readonly number[]): VelocityModel {
  if (models.length === 1) return models[0]!;
  const total = weights.reduce((a, b) => a + b, 0);
  return async (x, sigma) => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < models.length; i++) {
      const v = await models[i]!(x, sigma);
      const wgt = weights[i]!;
      for (let k = 0; k < out.length; k++) out[k]! += v[k]! * wgt;
    }
    for (let k = 0; k < out.length; k++) out[k]! /= total;
    return out;
  };
}

/**
 * Runs KSampler and returns the new LATENT (a copy of the input's keys with new samples).
 */
export async function runKSampler(inputs: KSamplerInputs, context: ExecutionContext): Promise<{ latent: Latent; ditRuns: number; skipped: number }> {
  const service = getModelService(context.env);
  const { model } = inputs;
  if (inputs.latent.noise_mask) context.log.warn('KSampler: noise_mask (inpainting) is not supported; the whole latent is sampled');
  // 1. Latent and noise.
  const latent = fixEmptyLatentChannels(inputs.latent.samples, 16);
  const shape = latent.shape;
  if (shape[1] !== 16) throw new RangeError(`KSampler: FLUX latents have 16 channels, got ${shape[1]} (encode with the FLUX VAE)`);
  const noise = prepareNoise(shape, inputs.seed, inputs.latent.batch_index);
  // 2. Sigmas.
  const sigmas = ksamplerSigmas({
    scheduler: inputs.scheduler,
    steps: inputs.steps,
    denoise: inputs.denoise,
    sampler: inputs.samplerName,
    modelSampling: modelSamplingFlux(model.shift),
  });
  if (sigmas.length === 0) return { latent: { ...inputs.latent, samples: latent }, ditRuns: 0, skipped: 0 };

  // 3. Velocity models per conditioning stream, on packed tokens (see step 5).
  const packing = new LatentPacking(shape[0]!, shape[1]!, shape[2]!, shape[3]!);
  let ditRuns = 0;
  const caches: EasyCachedModel[] = [];
  const stream = async (conditioning: Conditioning): Promise<VelocityModel> => {
    if (conditioning.length === 0) throw new Error('KSampler: a conditioning input is an empty list');
    const models = await Promise.all(
      conditioning.map((entry) =>
        ditVelocityModel({
          service,
          model,
          shape,
          entry,
          placeReferences: (target, refs) => comfyReferenceIds(target, refs, entry.reference_latents_method ?? 'offset'),
          onRun: () => ditRuns++,
          tokenSpace: true,
          signal: context.signal,
        }),
      ),
    );
    const combined = averaged(models, conditioning.map((e) => e.strength ?? 1));
    if (!model.easyCache) return combined;
    const cached = withEasyCache(combined, easyCacheOptions(model.easyCache, model.shift, shape, packing));
    caches.push(cached);
    return cached.model;
  };
  // 4. ComfyUI's CFG over D = x - v * sigma per stream. math.isclose(cfg, 1) skips the negative, except for the
  // CFG++ samplers, which read the unconditional prediction at every step.
  const sampler = getSampler(inputs.samplerName);
  const positive = denoiserFromVelocity(await stream(inputs.positive));
  const needsNegative = !isCfgOne(inputs.cfg) || sampler.kind === 'guided';
  const guidedModel = needsNegative
    ? cfgGuidance({ positive, negative: denoiserFromVelocity(await stream(inputs.negative)), cfg: inputs.cfg })
    : positive;

  // 5. Sample with progress and previews, on packed tokens: every step of the math is elementwise, except the
  // ancestral samplers' fresh noise, which is drawn in the latent layout and packed like the rest.
  const total = sigmas.length - 1;
  const latentNoise = defaultNoiseSampler(inputs.seed);
  const samples = packing.unpack(
    await ksample(guidedModel, {
      sampler: inputs.samplerName,
      sigmas,
      latent: packing.pack(latent.data),
      noise: packing.pack(noise.data),
      seed: inputs.seed,
      noiseSampler: (sigma, sigmaNext, length) => packing.pack(latentNoise(sigma, sigmaNext, length)),
      // The Brownian-tree samplers draw their own noise in the latent layout; it is packed like the rest.
      noiseLayout: (latentOrder) => packing.pack(latentOrder),
      percentToSigma: (percent) => percentToSigma(percent, model.shift),
      signal: context.signal,
      callback: async (step) => {
        // dpm_adaptive counts its own attempts, which can outnumber the schedule's steps.
        context.progress(Math.min(step.i + 1, total), total);
        await offerLatentPreview(context, () => packing.unpack(step.denoised), shape);
      },
    }),
  );
  const skipped = caches.reduce((sum, c) => sum + c.stats().skipped, 0);
  if (model.easyCache) {
    const calls = caches.reduce((sum, c) => sum + c.stats().total, 0);
    const line = `EasyCache: skipped ${skipped} of ${calls} DiT evaluations (${ditRuns} run)`;
    context.log.info(line);
  }
  return { latent: { ...inputs.latent, samples: Tensor.float32(shape, samples) }, ditRuns, skipped };
}

/** EasyCache settings of a MODEL for a sampler working on packed tokens: subsampled where ComfyUI subsamples. */
export function easyCacheOptions(
  settings: NonNullable<ModelDescriptor['easyCache']>,
  shift: number,
  shape: readonly number[],
  packing: LatentPacking,
): EasyCacheOptions {
  return {
    shape,
    reuseThreshold: settings.reuseThreshold,
    startPercent: settings.startPercent,
    endPercent: settings.endPercent,
    shift,
    layout: (index) => packing.packedIndex(index),
  };
}
