/**
 * ComfyUI's USO path matched: on the tiny real-architecture set, ComfyUI's graph (UNETLoader + LoraLoaderModelOnly,
 * EasyCache, CLIPVisionEncode 'center' + ModelPatchLoader + USOStyleReference, VAEEncode + ReferenceLatent +
 * FluxKontextMultiReferenceLatentMethod "uxo/uno", FluxGuidance, ConditioningZeroOut negative, KSampler euler/simple cfg 1)
 * gives the latent of a PyTorch implementation of ComfyUI's arithmetic (scripts/comfy_uso_reference.py, fixture made by
 * scripts/make-uso-reference-fixture.ts) within 1e-4 for 2 steps, and EasyCache skips the same DiT runs when it skips.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TINY_FILES, processLatentIn, readSafetensorsHeader, readTensorFloat32, Tensor } from '@uso-studio/runtime';
import {
  clipVisionEncode,
  clipVisionLoader,
  conditioningZeroOut,
  easyCache,
  fluxGuidance,
  fluxKontextMultiReferenceLatentMethod,
  kSampler,
  loraLoaderModelOnly,
  referenceLatent,
  unetLoader,
  vaeEncode,
  vaeLoader,
  type Conditioning,
  type Latent,
  type ModelDescriptor,
} from '@uso-studio/nodes-comfy';
import { recordingContext } from '@uso-studio/nodes-comfy/test-support';
import { modelPatchLoader, usoStyleReference } from './style.ts';
import { tinySetHost } from './tiny-set-host.ts';
import { COMFY_REFERENCE_CASES, promptEmbeddings, referenceImage, type ComfyReferenceCase } from './uso-reference-cases.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/comfy-uso-reference.safetensors', import.meta.url));
const base = (rel: string) => path.basename(rel);

const host = tinySetHost('comfy-uso-reference-');
const output = host.output;

async function comfyLatent(c: ComfyReferenceCase): Promise<{ latent: Tensor<'float32'>; log: string[] }> {
  let model = await output<ModelDescriptor>(unetLoader, { unet_name: base(TINY_FILES.dit), weight_dtype: 'default' });
  model = await output<ModelDescriptor>(loraLoaderModelOnly, { model, lora_name: base(TINY_FILES.lora), strength_model: 1 });
  if (c.easyCache) {
    const [reuse_threshold, start_percent, end_percent] = c.easyCache;
    model = await output<ModelDescriptor>(easyCache, { model, reuse_threshold, start_percent, end_percent, verbose: false });
  }
  const vision = await output(clipVisionLoader, { clip_name: base(TINY_FILES.vision) });
  const patch = await output(modelPatchLoader, { name: base(TINY_FILES.projector) });
  for (const name of c.styles) {
    const encoded = await output(clipVisionEncode, { clip_vision: vision, image: referenceImage(name), crop: 'center' });
    model = await output<ModelDescriptor>(usoStyleReference, { model, model_patch: patch, clip_vision_output: encoded });
  }
  const vae = await output(vaeLoader, { vae_name: base(TINY_FILES.vae) });
  const { txt, vec } = promptEmbeddings(c);
  const text: Conditioning = [{ cond: txt, pooled_output: vec }];
  let positive = text;
  for (const name of c.subjects) {
    const latent = await output<Latent>(vaeEncode, { pixels: referenceImage(name), vae });
    positive = await output<Conditioning>(referenceLatent, { conditioning: positive, latent });
  }
  positive = await output<Conditioning>(fluxKontextMultiReferenceLatentMethod, { conditioning: positive, reference_latents_method: 'uxo/uno' });
  positive = await output<Conditioning>(fluxGuidance, { conditioning: positive, guidance: c.guidance });
  const negative = await output<Conditioning>(conditioningZeroOut, { conditioning: text });
  const empty: Latent = { samples: Tensor.float32([1, 16, c.height / 8, c.width / 8], new Float32Array(16 * (c.height / 8) * (c.width / 8))) };
  const context = recordingContext(host.env());
  const latent = await output<Latent>(
    kSampler,
    { model, seed: c.seed, steps: c.steps, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive, negative, latent_image: empty, denoise: 1 },
    context,
  );
  return { latent: latent.samples, log: context.lines };
}

describe("ComfyUI's USO graph matches a PyTorch implementation of ComfyUI's arithmetic on the tiny real architectures", () => {
  const header = readSafetensorsHeader(FIXTURE);

  it.each(COMFY_REFERENCE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const expected = readTensorFloat32(header, `${c.name}/latent`);
    const { latent, log } = await comfyLatent(c);
    expect(latent.shape).toEqual(header.tensors.get(`${c.name}/latent`)!.shape);
    // Compared in the model's latent space (process_in of KSampler's VAE-space LATENT), as the USO check is.
    const ours = processLatentIn(latent.data);
    const theirs = processLatentIn(expected);
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    expect(worst).toBeLessThan(1e-4);
    expect(Math.max(...Array.from(theirs, Math.abs))).toBeGreaterThan(1);
    const skipped = readTensorFloat32(header, `${c.name}/easycache_skipped`)[0]!;
    if (c.easyCache) expect(log.join('\n')).toContain(`skipped ${skipped} of`);
  }, 60_000);
});
