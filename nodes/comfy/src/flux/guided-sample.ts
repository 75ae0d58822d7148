/**
 * ComfyUI's CFGGuider.sample for FLUX models, which KSampler, KSamplerAdvanced and SamplerCustomAdvanced all end in:
 * given sigmas, noise and a latent whose channels are already fixed, build one denoiser per conditioning stream
 * (calc_cond_batch over the entries active at each sigma, EasyCache per entry when the MODEL asks for it), combine
 * them with runtime's CFG (plain samplers skip the negative at cfg 1; CFG++ samplers read it), and run ksample (process_in,
 * noise scaling, the sampler, inverse noise scaling, process_out) with progress and previews per step.
 */

import {
  Tensor,
  defaultNoiseSampler,
  ksample,
  percentToSigma,
  processLatentOut,
  withEasyCache,
  cfgGuidance,
  type Denoiser,
  type EasyCachedModel,
  type EasyCacheOptions,
} from '@uso-studio/runtime';
import type { ExecutionContext } from '@uso-studio/core';
import type { ModelDescriptor } from '../models/descriptors.ts';
import { getModelService } from '../models/model-service.ts';
import type { Conditioning } from './conditioning.ts';
import { entryTimestepRange, streamDenoiser, type EntryModel } from './cond-batch.ts';
import { ditVelocityModel } from './dit-runner.ts';
import { comfyReferenceIds, LatentPacking } from './packing.ts';
import { offerLatentPreview } from './preview.ts';

/** What a guided sampling run needs (ComfyUI's guider, sampler, sigmas, noise and latent). */
export interface GuidedSampleInputs {
  model: ModelDescriptor;
  positive: Conditioning;
  /** null for a guider without a negative (BasicGuider). */
  negative: Conditioning | null;
  cfg: number;
  samplerName: string;
  sigmas: readonly number[];
  /** The latent after fix_empty_latent_channels, [B, 16, h, w], in VAE space. */
  latent: Tensor<'float32'>;
  /** Initial noise, same shape as the latent (zeros when noise is disabled). */
  noise: Tensor<'float32'>;
  /** Seed of the samplers' own noise (default_noise_sampler): the noise's seed, 0 for disabled noise. */
  seed: bigint;
  /** The node's name for messages. */
  who: string;
}

export interface GuidedSampleResult {
  /** The sampled latent in VAE space; the input latent itself when there are no sigmas. */
  samples: Tensor<'float32'>;
  /** process_latent_out of the last step's denoised prediction (SamplerCustomAdvanced's denoised_output); null without steps. */
  denoised: Tensor<'float32'> | null;
  ditRuns: number;
  /** DiT evaluations EasyCache skipped. */
  skipped: number;
}

/** Runs the guided sampling; see the file comment. */
export async function guidedSample(inputs: GuidedSampleInputs, context: ExecutionContext): Promise<GuidedSampleResult> {
  const { model, latent, sigmas } = inputs;
  const shape = latent.shape;
  if (shape[1] !== 16) throw new RangeError(`${inputs.who}: FLUX latents have 16 channels, got ${shape[1]} (encode with the FLUX VAE)`);
  if (sigmas.length === 0) return { samples: latent, denoised: null, ditRuns: 0, skipped: 0 };

  // 1. One denoiser per conditioning stream, on packed tokens (see step 3).
  const service = getModelService(context.env);
  const packing = new LatentPacking(shape[0]!, shape[1]!, shape[2]!, shape[3]!);
  let ditRuns = 0;
  const caches: EasyCachedModel[] = [];
  const stream = async (conditioning: Conditioning, name: string): Promise<Denoiser> => {
    if (conditioning.length === 0) throw new Error(`${inputs.who}: the ${name} conditioning is an empty list`);
    const entries = await Promise.all(
      conditioning.map(async (entry): Promise<EntryModel> => {
        let velocity = await ditVelocityModel({
          service,
          model,
          shape,
          entry,
          placeReferences: (target, refs) => comfyReferenceIds(target, refs, entry.reference_latents_method ?? 'offset'),
          onRun: () => ditRuns++,
          tokenSpace: true,
          signal: context.signal,
        });
        if (model.easyCache) {
          const cached = withEasyCache(velocity, easyCacheOptions(model.easyCache, model.shift, shape, packing));
          caches.push(cached);
          velocity = cached.model;
        }
        return { velocity, strength: entry.strength ?? 1, ...entryTimestepRange(entry, model.shift) };
      }),
    );
    return streamDenoiser(entries);
  };
  const positive = await stream(inputs.positive, 'positive');
  // The negative is built on first use: plain samplers skip it at cfg 1, CFG++ samplers always evaluate it. A guider
  // without a negative (BasicGuider) predicts zeros for it, as calc_cond_batch does for a None stream.
  let negative: Promise<Denoiser> | null = null;
  const negativeDenoiser: Denoiser = async (x, sigma) => {
    if (!inputs.negative) return new Float32Array(x.length);
    negative ??= stream(inputs.negative, 'negative');
    return (await negative)(x, sigma);
  };

  // 2. CFG (ComfyUI's sampling_function / cfg_function without model hooks).
  const guided = cfgGuidance({ positive, negative: negativeDenoiser, cfg: inputs.cfg });

  // 3. Sample with progress and previews, on packed tokens: every step of the math is elementwise, except the
  // ancestral samplers' fresh noise, which is drawn in the latent layout and packed like the rest.
  const total = sigmas.length - 1;
  const latentNoise = defaultNoiseSampler(inputs.seed);
  let lastDenoised: Float32Array | null = null;
  const samples = packing.unpack(
    await ksample(guided, {
      sampler: inputs.samplerName,
      sigmas,
      latent: packing.pack(latent.data),
      noise: packing.pack(inputs.noise.data),
      seed: inputs.seed,
      noiseSampler: (sigma, sigmaNext, length) => packing.pack(latentNoise(sigma, sigmaNext, length)),
      // The Brownian-tree samplers draw their own noise in the latent layout; it is packed like the rest.
      noiseLayout: (latentOrder) => packing.pack(latentOrder),
      percentToSigma: (percent) => percentToSigma(percent, model.shift),
      signal: context.signal,
      callback: async (step) => {
        lastDenoised = Float32Array.from(step.denoised);
        // dpm_adaptive counts its own attempts, which can outnumber the schedule's steps.
        context.progress(Math.min(step.i + 1, total), total);
        await offerLatentPreview(context, () => packing.unpack(step.denoised), shape);
      },
    }),
  );
  const skipped = caches.reduce((sum, c) => sum + c.stats().skipped, 0);
  if (model.easyCache) {
    const calls = caches.reduce((sum, c) => sum + c.stats().total, 0);
    context.log.info(`EasyCache: skipped ${skipped} of ${calls} DiT evaluations (${ditRuns} run)`);
  }
  const x0 = lastDenoised as Float32Array | null;
  return {
    samples: Tensor.float32(shape, samples),
    denoised: x0 ? Tensor.float32(shape, processLatentOut(packing.unpack(x0))) : null,
    ditRuns,
    skipped,
  };
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
