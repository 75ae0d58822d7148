/**
 * USO's reference procedure matched: on the tiny real-architecture set (FLUX DiT in BF16 with the USO LoRA, FLUX VAE,
 * SigLIP and the USO projector), our USOSampler path (UNETLoader, LoraLoaderModelOnly, CLIPVisionEncode crop 'none',
 * ModelPatchLoader + USOStyleReference, VAEEncode references, USOSampler with USO's schedule and "d" placement) gives
 * the latent of an independent PyTorch implementation of USO's inference procedure (scripts/uso_reference.py, fixture
 * made by scripts/make-uso-reference-fixture.ts) within 1e-4, from the same seed, images and prompt embeddings.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TINY_FILES, processLatentIn, readSafetensorsHeader, readTensorFloat32, Tensor } from '@uso-studio/runtime';
import {
  clipVisionEncode,
  clipVisionLoader,
  loraLoaderModelOnly,
  unetLoader,
  vaeEncode,
  vaeLoader,
  type Latent,
  type ModelDescriptor,
} from '@uso-studio/nodes-comfy';
import { recordingContext } from '@uso-studio/nodes-comfy/test-support';
import { modelPatchLoader, usoStyleReference } from './style.ts';
import { tinySetHost } from './tiny-set-host.ts';
import { runUsoSampler } from './uso-sampler.ts';
import { USO_REFERENCE_CASES, promptEmbeddings, referenceImage, type UsoReferenceCase } from './uso-reference-cases.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/uso-reference.safetensors', import.meta.url));
const base = (rel: string) => path.basename(rel);

const host = tinySetHost('uso-reference-');
const output = host.output;

async function ourLatent(c: UsoReferenceCase): Promise<Tensor<'float32'>> {
  let model = await output<ModelDescriptor>(unetLoader, { unet_name: base(TINY_FILES.dit), weight_dtype: 'default' });
  model = await output<ModelDescriptor>(loraLoaderModelOnly, { model, lora_name: base(TINY_FILES.lora), strength_model: 1 });
  if (c.styles.length > 0) {
    const vision = await output(clipVisionLoader, { clip_name: base(TINY_FILES.vision) });
    const patch = await output(modelPatchLoader, { name: base(TINY_FILES.projector) });
    // Each USOStyleReference puts its tokens first: applying the styles last to first gives USO's order.
    for (const name of [...c.styles].reverse()) {
      const encoded = await output(clipVisionEncode, { clip_vision: vision, image: referenceImage(name), crop: 'none' });
      model = await output<ModelDescriptor>(usoStyleReference, { model, model_patch: patch, clip_vision_output: encoded });
    }
  }
  const vae = await output(vaeLoader, { vae_name: base(TINY_FILES.vae) });
  const references: Tensor<'float32'>[] = [];
  for (const name of c.subjects) references.push((await output<Latent>(vaeEncode, { pixels: referenceImage(name), vae })).samples);
  const { txt, vec } = promptEmbeddings(c);
  const latent: Latent = { samples: Tensor.float32([1, 16, c.height / 8, c.width / 8], new Float32Array(16 * (c.height / 8) * (c.width / 8))) };
  const { latent: out } = await runUsoSampler(
    {
      model,
      positive: [{ cond: txt, pooled_output: vec, reference_latents: references }],
      latent,
      seed: BigInt(c.seed),
      steps: c.steps,
      guidance: c.guidance,
      placement: 'd',
      schedule: 'uso',
    },
    recordingContext(host.env()),
  );
  return out.samples;
}

describe("USOSampler matches a PyTorch implementation of USO's inference procedure on the tiny real architectures", () => {
  const header = readSafetensorsHeader(FIXTURE);

  it.each(USO_REFERENCE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const expected = readTensorFloat32(header, `${c.name}/latent`);
    const ours = await ourLatent(c);
    expect(ours.shape).toEqual(header.tensors.get(`${c.name}/latent`)!.shape);
    // USOSampler returns the LATENT in the VAE's space (ComfyUI's convention); USO's denoise returns the model's space.
    const modelSpace = processLatentIn(ours.data);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(modelSpace[i]! - expected[i]!));
    expect(worst).toBeLessThan(1e-4);
    // The latent moved far from the noise's scale: the comparison is not between two near-zero tensors.
    expect(Math.max(...Array.from(expected, Math.abs))).toBeGreaterThan(1); // model-space latents reach about 4 here
  }, 60_000);
});
