/**
 * USOSampler: USO's reference sampling procedure (bytedance/USO sampling.denoise) as one node. Differences from
 * KSampler: USO's flatter timestep schedule (mu from (W/8)(H/8)/256, or FLUX's packed-token count), plain Euler on
 * the velocity from pure noise, no CFG (guidance is a model input, default 4.0), and USO's reference placements.
 */

import { defineNode, type ExecutionContext } from '@uso-studio/core';
import {
  Tensor,
  fixEmptyLatentChannels,
  prepareNoise,
  processLatentOut,
  sampleUso,
  usoSchedule,
  withEasyCache,
  type UsoScheduleMode,
  type VelocityModel,
} from '@uso-studio/runtime';
import {
  ditVelocityModel,
  easyCacheOptions,
  entryTimestepRange,
  expectConditioning,
  expectDescriptor,
  expectLatent,
  getModelService,
  LatentPacking,
  offerLatentPreview,
  seedOf,
  streamVelocity,
  usoReferenceIds,
  type Conditioning,
  type EntryModel,
  type Latent,
  type ModelDescriptor,
  type UsoPlacement,
} from '@uso-studio/nodes-comfy';

/** Reference placements: diagonal (USO's default), rows only, columns only, none. */
export const USO_PLACEMENTS: readonly UsoPlacement[] = ['d', 'h', 'w', 'o'];
export const USO_SCHEDULES: readonly UsoScheduleMode[] = ['uso', 'flux'];

/** Inputs of {@link runUsoSampler}. */
export interface UsoSamplerInputs {
  model: ModelDescriptor;
  positive: Conditioning;
  latent: Latent;
  seed: bigint;
  steps: number;
  guidance: number;
  placement: UsoPlacement;
  schedule: UsoScheduleMode;
}

/** Runs USO's loop; returns the LATENT (VAE space) and the number of DiT runs. */
export async function runUsoSampler(inputs: UsoSamplerInputs, context: ExecutionContext): Promise<{ latent: Latent; ditRuns: number }> {
  const service = getModelService(context.env);
  const { model } = inputs;
  const latent = fixEmptyLatentChannels(inputs.latent.samples, 16);
  const shape = latent.shape;
  const [, c, h, w] = shape as [number, number, number, number];
  if (c !== 16) throw new RangeError(`USOSampler: FLUX latents have 16 channels, got ${c}`);
  if (h % 2 !== 0 || w % 2 !== 0) throw new RangeError(`USOSampler: the image size must be a multiple of 16 pixels, got ${w * 8}x${h * 8}`);
  const timesteps = usoSchedule(inputs.steps, w * 8, h * 8, inputs.schedule);
  // USO draws its noise on the GPU in bf16; the CPU torch stream of ComfyUI's prepare_noise is used instead.
  const noise = prepareNoise(shape, inputs.seed, inputs.latent.batch_index);
  if (inputs.positive.length === 0) throw new Error('USOSampler: the positive conditioning is an empty list');

  // Sampling runs on packed tokens: USO's loop is elementwise, so the latent is packed once and unpacked once.
  const packing = new LatentPacking(shape[0]!, shape[1]!, shape[2]!, shape[3]!);
  let ditRuns = 0;
  // Entries are weighted by strength and take part only inside their timestep range, as in KSampler (ComfyUI's
  // calc_cond_batch), but on velocities, which USO's loop steps on.
  const entries = await Promise.all(
    inputs.positive.map(async (entry): Promise<EntryModel> => ({
      velocity: await ditVelocityModel({
        service,
        model,
        shape,
        entry,
        guidance: inputs.guidance,
        placeReferences: (target, refs) => usoReferenceIds(target, refs, inputs.placement),
        onRun: () => ditRuns++,
        tokenSpace: true,
        signal: context.signal,
      }),
      strength: entry.strength ?? 1,
      ...entryTimestepRange(entry, model.shift),
    })),
  );
  let velocity: VelocityModel = streamVelocity(entries);
  const cache = model.easyCache ? withEasyCache(velocity, easyCacheOptions(model.easyCache, model.shift, shape, packing)) : null;
  if (cache) velocity = cache.model;

  const total = timesteps.length - 1;
  const out = packing.unpack(
    await sampleUso(velocity, packing.pack(noise.data), timesteps, {
      signal: context.signal,
      callback: async (step) => {
        context.progress(step.i + 1, total);
        await offerLatentPreview(context, () => packing.unpack(step.denoised), shape);
      },
    }),
  );
  if (cache) context.log.info(`EasyCache: skipped ${cache.stats().skipped} of ${cache.stats().total} DiT evaluations`);
  return { latent: { ...inputs.latent, samples: Tensor.float32(shape, processLatentOut(out)) }, ditRuns };
}

export const usoSampler = defineNode({
  name: 'USOSampler',
  displayName: 'USO Sampler (reference procedure)',
  category: 'sampling/uso',
  description:
    "USO's own sampling procedure: its flatter schedule, Euler from pure noise without CFG, guidance as a model input, and its reference placements. Use CLIPVisionEncode with crop 'none' for USO's 384x384 squash of style images.",
  pack: 'custom_nodes.uso_studio',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      positive: { type: 'CONDITIONING' },
      latent_image: { type: 'LATENT' },
      seed: { type: 'INT', default: 3407, min: 0, max: 0xffffffffffffffff, control_after_generate: true },
      steps: { type: 'INT', default: 25, min: 1, max: 10000 },
      guidance: { type: 'FLOAT', default: 4.0, min: 0.0, max: 100.0, step: 0.1 },
      reference_placement: { type: 'COMBO', options: USO_PLACEMENTS, tooltip: 'd: diagonal (USO default), h: rows only, w: columns only, o: no offset' },
      schedule: { type: 'COMBO', options: USO_SCHEDULES, tooltip: "uso: USO's flatter schedule; flux: FLUX's token-count schedule" },
    },
  },
  outputs: [{ type: 'LATENT' }],
  async execute(inputs, context) {
    const { latent } = await runUsoSampler(
      {
        model: expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model'),
        positive: expectConditioning(inputs.positive, 'positive'),
        latent: expectLatent(inputs.latent_image, 'latent_image'),
        seed: seedOf(inputs.seed),
        steps: Number(inputs.steps),
        guidance: Number(inputs.guidance),
        placement: String(inputs.reference_placement) as UsoPlacement,
        schedule: String(inputs.schedule) as UsoScheduleMode,
      },
      context,
    );
    return { outputs: [latent] };
  },
});
