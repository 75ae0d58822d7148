/**
 * The memory budget at validation with real, full-size FLUX files: synthesised sparse (published names, shapes and
 * dtypes, no data on disk: flux1-dev BF16, ae F32, t5xxl fp16, clip_l), so only headers are read and nothing runs.
 * The working sets are the architectures' own estimates at the prompt's sizes; a prompt over the budget is refused
 * with ComfyUI's error shape and advice, and the advice itself is accepted when resubmitted. Real server, real packs,
 * the queue paused so an accepted prompt never starts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiPrompt } from '@uso-studio/core';
import { writeSparseSafetensors } from '@uso-studio/runtime';
import { FLUX_CONFIGS, fluxActivationBytes } from '../../runtime/src/models/architectures/flux-dit-config.ts';
import { fluxSparseSpecs } from '../../runtime/src/models/architectures/flux-dit-full-size.ts';
import { FLUX_VAE_PUBLISHED, decoderWeightShapes, encoderWeightShapes } from '../../runtime/src/models/architectures/flux-vae-config.ts';
import { fluxVaeActivationBytes } from '../../runtime/src/models/architectures/flux-vae-memory.ts';
import { T5_XXL_SIZES, clipLLayout, t5XxlLayout } from '../../runtime/src/models/architectures/text-encoder-published.ts';
import { t5ActivationBytes } from '../../runtime/src/models/architectures/t5-encoder.ts';
import { DEFAULT_PACKS } from './packs.ts';
import { ModelWorkingMemory } from './model-working-memory.ts';
import { postJson, startTestServer, tempDataDir, type TestServer } from './test-support/harness.ts';

const GIB = 2 ** 30;
const BUDGET = 6 * GIB;
let server: TestServer;

function writeFullSizeFiles(models: string): void {
  const dir = (sub: string) => {
    mkdirSync(join(models, sub), { recursive: true });
    return join(models, sub);
  };
  writeSparseSafetensors(join(dir('diffusion_models'), 'flux1-dev.safetensors'), fluxSparseSpecs(FLUX_CONFIGS['flux-dev'], 'BF16'));
  const vae = [...encoderWeightShapes(FLUX_VAE_PUBLISHED), ...decoderWeightShapes(FLUX_VAE_PUBLISHED)];
  writeSparseSafetensors(join(dir('vae'), 'ae.safetensors'), Object.fromEntries(vae.map(([name, shape]) => [name, { dtype: 'F32' as const, shape }])));
  writeSparseSafetensors(join(dir('text_encoders'), 't5xxl_fp16.safetensors'), t5XxlLayout({ matrix: 'F16', embedding: 'F16', other: 'F16' }));
  writeSparseSafetensors(join(dir('text_encoders'), 'clip_l.safetensors'), clipLLayout({ dtype: 'F16', projection: true }));
  dir('loras');
}

/** ComfyUI's FLUX text-to-image graph on the split files (with a LoRA-free pass-through: ModelSamplingFlux is absent). */
function fluxPrompt(o: { width?: number; height?: number; batch?: number; text?: string } = {}): ApiPrompt {
  return {
    unet: { class_type: 'UNETLoader', inputs: { unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' } },
    clip: { class_type: 'DualCLIPLoader', inputs: { clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp16.safetensors', type: 'flux' } },
    vae: { class_type: 'VAELoader', inputs: { vae_name: 'ae.safetensors' } },
    text: { class_type: 'CLIPTextEncode', inputs: { text: o.text ?? 'a cat on a sofa', clip: ['clip', 0] } },
    guidance: { class_type: 'FluxGuidance', inputs: { conditioning: ['text', 0], guidance: 3.5 } },
    negative: { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['text', 0] } },
    empty: { class_type: 'EmptyLatentImage', inputs: { width: o.width ?? 1024, height: o.height ?? 1024, batch_size: o.batch ?? 1 } },
    sampler: {
      class_type: 'KSampler',
      inputs: { model: ['unet', 0], seed: 1, steps: 20, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['guidance', 0], negative: ['negative', 0], latent_image: ['empty', 0], denoise: 1 },
    },
    decode: { class_type: 'VAEDecode', inputs: { samples: ['sampler', 0], vae: ['vae', 0] } },
    save: { class_type: 'SaveImage', inputs: { images: ['decode', 0], filename_prefix: 'flux' } },
  };
}

beforeAll(async () => {
  const dataDir = tempDataDir();
  writeFullSizeFiles(join(dataDir, 'models'));
  server = await startTestServer({ dataDir, packs: DEFAULT_PACKS, limits: { maxMemoryBytes: BUDGET } });
  server.queue.pause(); // validation only: an accepted prompt must never load 24 GB of (sparse) weights
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

const post = (prompt: ApiPrompt) => postJson(`${server.url}/prompt`, { prompt, client_id: 'mem' });

describe('working memory of real model files', () => {
  it("is each architecture's own estimate, found through the loaders", () => {
    const env = { modelsDir: join(server.dataDir, 'models'), inputDir: '', outputDir: '', tempDir: '' };
    const models = new ModelWorkingMemory();
    const prompt = fluxPrompt();
    const dit = models.estimator(prompt, env, 'sampler', 'model', 'MODEL', 'dit')!;
    const others = { txt: [1, 300, 4096], ref_img: [1, 1024, 64], style: [1, 192, 3072] };
    expect(dit([1, 4096, 64], others)).toBe(fluxActivationBytes(FLUX_CONFIGS['flux-dev'], [1, 4096, 64], others));
    const vae = models.estimator(prompt, env, 'decode', 'vae', 'VAE', 'vae_decoder')!;
    expect(vae([1, 16, 128, 128])).toBe(fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'decoder', [1, 16, 128, 128]));
    // DualCLIPLoader names CLIP-L first: the T5 estimate comes from the other file.
    const t5 = models.estimator(prompt, env, 'text', 'clip', 'CLIP', 't5')!;
    const t5Config = { ...T5_XXL_SIZES, maxDistance: 128, eps: 1e-6, embeddingKey: 'shared.weight' };
    expect(t5([1, 512])).toBe(t5ActivationBytes(t5Config, [1, 512]));
    // A MODEL through a LoRA loader still reaches the file; a node that is not a loader chain gives none.
    const withLora: ApiPrompt = {
      ...prompt,
      lora: { class_type: 'LoraLoaderModelOnly', inputs: { model: ['unet', 0], lora_name: 'x.safetensors', strength_model: 1 } },
      sampler: { ...prompt.sampler!, inputs: { ...prompt.sampler!.inputs, model: ['lora', 0] } },
    };
    expect(models.estimator(withLora, env, 'sampler', 'model', 'MODEL', 'dit')).toBeDefined();
    expect(models.estimator(prompt, env, 'save', 'images', 'MODEL', 'dit')).toBeUndefined();
  });

  it('accepts 1024² and refuses 4096², saying which size fits, and that size is accepted', async () => {
    expect((await post(fluxPrompt())).status).toBe(200);
    const big = await post(fluxPrompt({ width: 4096, height: 4096 }));
    expect(big.status).toBe(400);
    expect(big.body.error.type).toBe('memory_budget_exceeded');
    expect(big.body.error.message).toMatch(/node sampler \(KSampler\), sampling 1 latent\(s\) of 4096x4096/);
    expect(big.body.node_errors.sampler.errors[0].type).toBe('memory_budget_exceeded');
    // 65,536 image tokens at about 312 KB each: the DiT's own figure, far over 6 GiB.
    expect(big.body.error.extra_info.estimated_bytes).toBeGreaterThan(fluxActivationBytes(FLUX_CONFIGS['flux-dev'], [1, 65_536, 64], { txt: [1, 256, 4096], ref_img: [1, 0, 64], style: [1, 0, 3072] }));
    const { max_width: w, max_height: h } = big.body.error.extra_info as { max_width: number; max_height: number };
    expect(w).toBeGreaterThanOrEqual(1024);
    expect(w).toBeLessThan(4096);
    expect((await post(fluxPrompt({ width: w, height: h }))).status).toBe(200);
  });

  it('refuses a long text by the T5 encoder it would need, saying how long a text fits, and that text is accepted', async () => {
    const text = 'a photo of a cat sitting on a red sofa, watercolour, highly detailed '.repeat(1500).slice(0, 100_000);
    const long = await post(fluxPrompt({ text }));
    expect(long.status).toBe(400);
    expect(long.body.error.type).toBe('memory_budget_exceeded');
    expect(long.body.error.message).toMatch(/node text \(CLIPTextEncode\), encoding a text of about 25,001 T5 tokens/);
    expect(long.body.error.message).toMatch(/A text of up to about [\d,]+ characters fits/);
    const chars = long.body.error.extra_info.max_text_chars as number;
    expect(chars).toBeGreaterThan(1000);
    expect(chars).toBeLessThan(text.length);
    expect((await post(fluxPrompt({ text: text.slice(0, chars) }))).status).toBe(200);
    // CLIPTextEncodeFlux: its t5xxl text is what T5 reads.
    const flux = fluxPrompt();
    flux.text = { class_type: 'CLIPTextEncodeFlux', inputs: { clip: ['clip', 0], clip_l: 'a cat', t5xxl: text, guidance: 3.5 } };
    const viaFlux = await post(flux);
    expect(viaFlux.status).toBe(400);
    expect(viaFlux.body.error.message).toMatch(/node text \(CLIPTextEncodeFlux\), encoding a text of about 25,001 T5 tokens/);
    expect(viaFlux.body.error.extra_info.max_text_chars).toBe(chars);
  });

  it('lets the VAE split a large batch instead of refusing it', async () => {
    // 1024² batch 8: decoding all at once would need many GiB, but the VAE runner decodes one at a time.
    const batch = await post(fluxPrompt({ batch: 8 }));
    expect(fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'decoder', [8, 16, 128, 128])).toBeGreaterThan(BUDGET);
    expect(batch.status).toBe(200);
  });
});
