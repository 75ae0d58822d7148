/**
 * ComfyUI's loader nodes. Each resolves its file inside its folder, checks that a known architecture recognises it
 * (building or finding the cached graph, so a foreign or truncated file fails here with a message naming it) and
 * returns a descriptor; sessions start later, at first use.
 */

import { defineNode, type HostEnvironment } from '@uso-studio/core';
import type { Role } from '@uso-studio/runtime';
import {
  clipDescriptor,
  clipVisionDescriptor,
  expectDescriptor,
  modelDescriptor,
  vaeDescriptor,
  withModel,
  type ClipDescriptor,
  type ModelDescriptor,
  type TextEncoderRef,
} from '../models/descriptors.ts';
import { getModelService, type ModelService } from '../models/model-service.ts';
import { modelFolderKind } from '../models/model-files.ts';
import { pipelineSnapshot } from '../models/pipeline-snapshot.ts';
import { findTokenizer } from '../text/tokenizers.ts';
import { modelCombo } from './model-combo.ts';

/** Builds (or finds) the graph so that problems with the file surface at the loader. */
async function check(service: ModelService, file: string, role: Role): Promise<void> {
  await service.graph({ file, role });
}

function textEncoder(env: HostEnvironment, file: string, name: string, kind: 't5xxl' | 'clip_l'): TextEncoderRef {
  return { file, name, tokenizer: findTokenizer(file, kind, env.modelsDir) };
}

export const checkpointLoaderSimple = defineNode({
  name: 'CheckpointLoaderSimple',
  displayName: 'Load Checkpoint',
  category: 'loaders',
  description: 'Loads a diffusion model checkpoint, diffusion models are used to denoise latents.',
  pack: 'nodes',
  inputs: { required: { ckpt_name: modelCombo('checkpoints', 'The name of the checkpoint (model) to load.') } },
  outputs: [
    { type: 'MODEL', tooltip: 'The model used for denoising latents.' },
    { type: 'CLIP', tooltip: 'The CLIP model used for encoding text prompts.' },
    { type: 'VAE', tooltip: 'The VAE model used for encoding and decoding images to and from latent space.' },
  ],
  async execute(inputs, context) {
    const service = getModelService(context.env);
    const name = String(inputs.ckpt_name);
    const file = service.resolveFile('checkpoints', name);
    if (modelFolderKind(file) === 'pipeline') return { outputs: await loadPipelineSnapshot(service, context.env, file, name) };
    await check(service, file, 'dit');
    // ComfyUI gives None for parts a checkpoint lacks; using them later fails with a message saying so.
    let clip: ClipDescriptor | null = null;
    if (service.hasRole(file, 't5') && service.hasRole(file, 'clip')) {
      clip = clipDescriptor(textEncoder(context.env, file, name, 't5xxl'), textEncoder(context.env, file, name, 'clip_l'), 'flux');
    } else {
      context.log.warn(`${name}: no text encoders in this checkpoint (CLIP output is empty)`);
    }
    const vae = service.hasRole(file, 'vae_encoder') || service.hasRole(file, 'vae_decoder') ? vaeDescriptor(file, name) : null;
    if (!vae) context.log.warn(`${name}: no VAE in this checkpoint (VAE output is empty)`);
    return { outputs: [modelDescriptor(file, name), clip, vae] };
  },
});

/** MODEL, CLIP and VAE from the component folders of a diffusers FLUX snapshot, each checked like a single file. */
async function loadPipelineSnapshot(service: ModelService, env: HostEnvironment, dir: string, name: string): Promise<unknown[]> {
  const parts = pipelineSnapshot(dir, name);
  await check(service, parts.dit, 'dit');
  await check(service, parts.vae, 'vae_decoder');
  await check(service, parts.t5, 't5');
  await check(service, parts.clip, 'clip');
  const t5: TextEncoderRef = { file: parts.t5, name: `${name}/text_encoder_2`, tokenizer: parts.t5Tokenizer ?? findTokenizer(parts.t5, 't5xxl', env.modelsDir) };
  const clip: TextEncoderRef = { file: parts.clip, name: `${name}/text_encoder`, tokenizer: parts.clipTokenizer ?? findTokenizer(parts.clip, 'clip_l', env.modelsDir) };
  return [modelDescriptor(parts.dit, `${name}/transformer`), clipDescriptor(t5, clip, 'flux'), vaeDescriptor(parts.vae, `${name}/vae`)];
}

export const unetLoader = defineNode({
  name: 'UNETLoader',
  displayName: 'Load Diffusion Model',
  category: 'advanced/loaders',
  pack: 'nodes',
  inputs: {
    required: {
      unet_name: modelCombo('diffusion_models'),
      weight_dtype: { type: 'COMBO', options: ['default', 'fp8_e4m3fn', 'fp8_e4m3fn_fast', 'fp8_e5m2'] },
    },
  },
  outputs: [{ type: 'MODEL' }],
  async execute(inputs, context) {
    const service = getModelService(context.env);
    const name = String(inputs.unet_name);
    const file = service.resolveFile('diffusion_models', name);
    if (inputs.weight_dtype !== 'default') {
      context.log.info(`UNETLoader: weight_dtype ${String(inputs.weight_dtype)} is ignored; weights run as stored (cast to float32 in the graph)`);
    }
    await check(service, file, 'dit');
    return { outputs: [modelDescriptor(file, name)] };
  },
});

/** DualCLIPLoader's type options (ComfyUI v0.3.64); only 'flux' is supported here. */
export const DUAL_CLIP_TYPES = ['sdxl', 'sd3', 'flux', 'hunyuan_video', 'hidream', 'hunyuan_image'] as const;

export const dualClipLoader = defineNode({
  name: 'DualCLIPLoader',
  category: 'advanced/loaders',
  description: '[Recipes]\n\nsdxl: clip-l, clip-g\nsd3: clip-l, clip-g / clip-l, t5 / clip-g, t5\nflux: clip-l, t5\nhidream: at least one of t5 or llama, recommended t5 and llama\nhunyuan_image: qwen2.5vl 7b and byt5 small',
  pack: 'nodes',
  inputs: {
    required: {
      clip_name1: modelCombo('text_encoders'),
      clip_name2: modelCombo('text_encoders'),
      type: { type: 'COMBO', options: DUAL_CLIP_TYPES },
    },
    optional: { device: { type: 'COMBO', options: ['default', 'cpu'], advanced: true } },
  },
  outputs: [{ type: 'CLIP' }],
  async execute(inputs, context) {
    if (inputs.type !== 'flux') throw new Error(`DualCLIPLoader: type '${String(inputs.type)}' is not supported; use 'flux' (T5-XXL + CLIP-L)`);
    const service = getModelService(context.env);
    const names = [String(inputs.clip_name1), String(inputs.clip_name2)];
    const files = names.map((n) => service.resolveFile('text_encoders', n));
    // Either order works, as in ComfyUI: find which file is T5 and which is CLIP-L.
    const t5At = files.findIndex((f) => service.hasRole(f, 't5'));
    const clipAt = files.findIndex((f, i) => i !== t5At && service.hasRole(f, 'clip'));
    if (t5At < 0 || clipAt < 0) {
      throw new Error(`DualCLIPLoader (flux) needs a T5-XXL and a CLIP-L text encoder; got ${names.join(' and ')} (${t5At < 0 ? 'no T5' : 'no CLIP-L'} among them)`);
    }
    await check(service, files[t5At]!, 't5');
    await check(service, files[clipAt]!, 'clip');
    return {
      outputs: [
        clipDescriptor(
          textEncoder(context.env, files[t5At]!, names[t5At]!, 't5xxl'),
          textEncoder(context.env, files[clipAt]!, names[clipAt]!, 'clip_l'),
          'flux',
        ),
      ],
    };
  },
});

export const vaeLoader = defineNode({
  name: 'VAELoader',
  displayName: 'Load VAE',
  category: 'loaders',
  pack: 'nodes',
  inputs: { required: { vae_name: modelCombo('vae') } },
  outputs: [{ type: 'VAE' }],
  async execute(inputs, context) {
    const service = getModelService(context.env);
    const name = String(inputs.vae_name);
    const file = service.resolveFile('vae', name);
    await check(service, file, 'vae_decoder');
    return { outputs: [vaeDescriptor(file, name)] };
  },
});

export const clipVisionLoader = defineNode({
  name: 'CLIPVisionLoader',
  displayName: 'Load CLIP Vision',
  category: 'loaders',
  pack: 'nodes',
  inputs: { required: { clip_name: modelCombo('clip_vision') } },
  outputs: [{ type: 'CLIP_VISION' }],
  async execute(inputs, context) {
    const service = getModelService(context.env);
    const name = String(inputs.clip_name);
    const file = service.resolveFile('clip_vision', name);
    await check(service, file, 'vision_encoder');
    return { outputs: [clipVisionDescriptor(file, name)] };
  },
});

export const loraLoaderModelOnly = defineNode({
  name: 'LoraLoaderModelOnly',
  displayName: 'LoraLoaderModelOnly',
  category: 'loaders',
  description: 'LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.',
  pack: 'nodes',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      lora_name: modelCombo('loras'),
      strength_model: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
    },
  },
  // ComfyUI inherits LoraLoader's two OUTPUT_TOOLTIPS here; this one output keeps the first.
  outputs: [{ type: 'MODEL', tooltip: 'The modified diffusion model.' }],
  async execute(inputs, context) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    const strength = Number(inputs.strength_model);
    // ComfyUI returns the model untouched at strength 0.
    if (strength === 0) return { outputs: [model] };
    const service = getModelService(context.env);
    const name = String(inputs.lora_name);
    const file = service.resolveFile('loras', name);
    const next = withModel(model, { loras: [...model.loras, { file, name, strength }] });
    // Map the keys now so a LoRA that fits nothing fails (or warns) at this node; the merged graph is built once,
    // when a sampler first runs the model.
    const report = service.loraReport({ file: next.file, role: 'dit', loras: next.loras }).files.at(-1);
    if (report) {
      if (report.patched === 0) throw new Error(`${name}: none of its keys match a weight of ${model.name}; is it a LoRA for this model?`);
      context.log.info(`${name}: patched ${report.patched} weights at strength ${strength}`);
      if (report.unmatched.length > 0) context.log.warn(`${name}: ${report.unmatched.length} LoRA key(s) not loaded: ${report.unmatched.slice(0, 5).join(', ')}`);
    }
    return { outputs: [next] };
  },
});
