/**
 * CLIPLoader (ComfyUI nodes.py): one text-encoder file as a CLIP. This project runs T5-XXL and CLIP-L, so the
 * types whose ComfyUI recipe is one of those load (the file must be that encoder); the others are refused with
 * what they need. A T5-XXL alone encodes prompts with a zero pooled vector; a CLIP-L alone cannot condition FLUX
 * (CLIPTextEncode says so). FLUX's pair is DualCLIPLoader (type flux).
 */

import { defineNode } from '@uso-studio/core';
import type { Role } from '@uso-studio/runtime';
import { clipDescriptor } from '../models/descriptors.ts';
import { getModelService } from '../models/model-service.ts';
import { findTokenizer } from '../text/tokenizers.ts';
import { modelCombo } from './model-combo.ts';

/** CLIPLoader's type options (ComfyUI v0.3.64), in ComfyUI's order. */
export const CLIP_LOADER_TYPES = [
  'stable_diffusion', 'stable_cascade', 'sd3', 'stable_audio', 'mochi', 'ltxv', 'pixart', 'cosmos', 'lumina2', 'wan',
  'hidream', 'chroma', 'ace', 'omnigen2', 'qwen_image', 'hunyuan_image',
] as const;

/** The types loadable here and the one encoder each takes (ComfyUI's recipes). */
const SUPPORTED: Readonly<Record<string, { role: Role; kind: 't5xxl' | 'clip_l'; label: string }>> = {
  stable_diffusion: { role: 'clip', kind: 'clip_l', label: 'CLIP-L' },
  sd3: { role: 't5', kind: 't5xxl', label: 'T5-XXL' },
  mochi: { role: 't5', kind: 't5xxl', label: 'T5-XXL' },
  ltxv: { role: 't5', kind: 't5xxl', label: 'T5-XXL' },
  pixart: { role: 't5', kind: 't5xxl', label: 'T5-XXL' },
  chroma: { role: 't5', kind: 't5xxl', label: 'T5-XXL' },
};

/** What the refused types need (ComfyUI's recipes), for the message. */
const NEEDS: Readonly<Record<string, string>> = {
  stable_cascade: 'CLIP-G',
  stable_audio: 'T5-base',
  cosmos: 'the old T5-XXL (v1.0)',
  lumina2: 'Gemma 2 2B',
  wan: 'UMT5-XXL',
  hidream: 'Llama 3.1 or T5',
  ace: 'UMT5-base',
  omnigen2: 'Qwen2.5-VL 3B',
  qwen_image: 'Qwen2.5-VL 7B',
  hunyuan_image: 'Qwen2.5-VL 7B and ByT5',
};

export const clipLoader = defineNode({
  name: 'CLIPLoader',
  displayName: 'Load CLIP',
  category: 'advanced/loaders',
  description: '[Recipes]\n\nstable_diffusion: clip-l\nstable_cascade: clip-g\nsd3: t5 xxl/ clip-g / clip-l\nstable_audio: t5 base\nmochi: t5 xxl\ncosmos: old t5 xxl\nlumina2: gemma 2 2B\nwan: umt5 xxl\n hidream: llama-3.1 (Recommend) or t5\nomnigen2: qwen vl 2.5 3B',
  pack: 'nodes',
  inputs: {
    required: {
      clip_name: modelCombo('text_encoders'),
      type: { type: 'COMBO', options: CLIP_LOADER_TYPES },
    },
    optional: { device: { type: 'COMBO', options: ['default', 'cpu'], advanced: true } },
  },
  outputs: [{ type: 'CLIP' }],
  async execute(inputs, context) {
    const type = String(inputs.type);
    const supported = SUPPORTED[type];
    if (!supported) {
      const supportedList = Object.entries(SUPPORTED).map(([t, s]) => `${t} (${s.label})`).join(', ');
      throw new Error(`CLIPLoader: type '${type}' needs ${NEEDS[type] ?? 'a text encoder'}, which this project does not run; supported here: ${supportedList}, and DualCLIPLoader type flux for FLUX's T5-XXL + CLIP-L`);
    }
    const service = getModelService(context.env);
    const name = String(inputs.clip_name);
    const file = service.resolveFile('text_encoders', name);
    if (!service.hasRole(file, supported.role)) {
      throw new Error(`CLIPLoader: type '${type}' takes a ${supported.label} text encoder, and ${name} is not one`);
    }
    // Builds (or finds) the graph, so a truncated file fails here with its name.
    await service.graph({ file, role: supported.role });
    if (inputs.device === 'cpu') context.log.info('CLIPLoader: device cpu: text encoders already run on the CPU unless an accelerator was asked for');
    const ref = { file, name, tokenizer: findTokenizer(file, supported.kind, context.env.modelsDir) };
    return { outputs: [supported.role === 't5' ? clipDescriptor(ref, undefined, type) : clipDescriptor(undefined, ref, type)] };
  },
});
