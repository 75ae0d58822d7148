/**
 * LoraLoader (ComfyUI nodes.py): one LoRA file applied to the diffusion model at strength_model and to the text
 * encoders at strength_clip. Nothing is merged: each patched layer gets a low-rank branch in its graph (runtime
 * blocks.ts `linear`) with the strength fed at run time, for the DiT and for T5-XXL / CLIP-L alike. The file's keys
 * are mapped on each of the three models (ComfyUI's key formats, models/lora.ts); keys that match none of them are
 * logged as ComfyUI does ("lora key not loaded"), and a file that matches nothing at all is an error.
 */

import { defineNode } from '@uso-studio/core';
import type { Role } from '@uso-studio/runtime';
import {
  expectDescriptor,
  withClipLora,
  withModel,
  type ClipDescriptor,
  type ModelDescriptor,
} from '../models/descriptors.ts';
import type { LoraApplication } from '../models/lora.ts';
import { getModelService, type LoraReport, type ModelService } from '../models/model-service.ts';
import { modelCombo } from './model-combo.ts';

/** What the file's keys patch on one model (strength 1: only the mapping matters here). */
function mapOnto(service: ModelService, file: string | undefined, role: Role, lora: LoraApplication): LoraReport['files'][number] | undefined {
  if (!file) return undefined;
  return service.loraReport({ file, role, loras: [{ ...lora, strength: 1 }] }).files[0];
}

export const loraLoader = defineNode({
  name: 'LoraLoader',
  displayName: 'Load LoRA',
  category: 'loaders',
  description: 'LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.',
  pack: 'nodes',
  inputs: {
    required: {
      model: { type: 'MODEL', tooltip: 'The diffusion model the LoRA will be applied to.' },
      clip: { type: 'CLIP', tooltip: 'The CLIP model the LoRA will be applied to.' },
      lora_name: modelCombo('loras', 'The name of the LoRA.'),
      strength_model: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the diffusion model. This value can be negative.' },
      strength_clip: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the CLIP model. This value can be negative.' },
    },
  },
  outputs: [
    { type: 'MODEL', tooltip: 'The modified diffusion model.' },
    { type: 'CLIP', tooltip: 'The modified CLIP model.' },
  ],
  async execute(inputs, context) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    // ComfyUI applies the model half even without a CLIP (a checkpoint without text encoders gives None).
    const clip = inputs.clip === null || inputs.clip === undefined ? null : expectDescriptor<'CLIP', ClipDescriptor>(inputs.clip, 'CLIP', 'clip');
    const strengthModel = Number(inputs.strength_model);
    const strengthClip = Number(inputs.strength_clip);
    // ComfyUI returns both untouched when both strengths are 0.
    if (strengthModel === 0 && strengthClip === 0) return { outputs: [model, clip] };

    const service = getModelService(context.env);
    const name = String(inputs.lora_name);
    const lora: LoraApplication = { file: service.resolveFile('loras', name), name, strength: 1 };
    const onModel = mapOnto(service, model.file, 'dit', lora)!;
    const onT5 = mapOnto(service, clip?.t5?.file, 't5', lora);
    const onClipL = mapOnto(service, clip?.clip?.file, 'clip', lora);
    const patched = onModel.patched + (onT5?.patched ?? 0) + (onClipL?.patched ?? 0);
    if (patched === 0) throw new Error(`${name}: none of its keys match a weight of ${model.name}${clip ? ' or its text encoders' : ''}; is it a LoRA for this model?`);

    let nextModel = model;
    if (strengthModel !== 0 && onModel.patched > 0) {
      nextModel = withModel(model, { loras: [...model.loras, { ...lora, strength: strengthModel }] });
      context.log.info(`${name}: patched ${onModel.patched} diffusion-model weights at strength ${strengthModel}`);
    } else if (strengthModel !== 0) {
      context.log.info(`${name}: no diffusion-model weights in this LoRA; MODEL unchanged`);
    }

    let nextClip = clip;
    const teWeights = (onT5?.patched ?? 0) + (onClipL?.patched ?? 0);
    if (clip && strengthClip !== 0 && teWeights > 0) {
      nextClip = withClipLora(clip, { ...lora, strength: strengthClip }, { t5: (onT5?.patched ?? 0) > 0, clip: (onClipL?.patched ?? 0) > 0 });
      context.log.info(`${name}: patched ${onT5?.patched ?? 0} T5-XXL and ${onClipL?.patched ?? 0} CLIP-L weights at strength ${strengthClip}`);
    } else if (clip && strengthClip !== 0) {
      context.log.info(`${name}: no text-encoder weights in this LoRA (no lora_te*/text_encoders.* keys); CLIP unchanged`);
    }

    // ComfyUI: "lora key not loaded" for keys no model took.
    const unmatchedBy = [onModel, onT5, onClipL].filter((r) => r !== undefined).map((r) => new Set(r.unmatched));
    const notLoaded = [...unmatchedBy[0]!].filter((key) => unmatchedBy.every((set) => set.has(key)));
    if (notLoaded.length > 0) context.log.warn(`${name}: ${notLoaded.length} LoRA key(s) not loaded: ${notLoaded.slice(0, 5).join(', ')}`);
    return { outputs: [nextModel, nextClip] };
  },
});
