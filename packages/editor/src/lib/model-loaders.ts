/**
 * Which loader node a model file becomes when it is dragged out of the model library: a loader class per model
 * folder, in order of preference, the first that `/object_info` has wins; the file goes into the loader's input
 * that lists that folder's files. Folders with no known loader fall back to any class in a `loaders` category
 * whose combo input lists the file.
 */
import type { ObjectInfo } from './object-info.ts';

/** A loader node class and the combo input that takes the file name. */
export interface LoaderChoice { type: string; input: string }

/** ComfyUI's loaders by model folder (names and inputs as in ComfyUI's nodes.py), preferred first. */
const LOADERS_BY_FOLDER: Record<string, LoaderChoice[]> = {
  checkpoints: [{ type: 'CheckpointLoaderSimple', input: 'ckpt_name' }],
  loras: [{ type: 'LoraLoader', input: 'lora_name' }, { type: 'LoraLoaderModelOnly', input: 'lora_name' }],
  vae: [{ type: 'VAELoader', input: 'vae_name' }],
  clip_vision: [{ type: 'CLIPVisionLoader', input: 'clip_name' }],
  diffusion_models: [{ type: 'UNETLoader', input: 'unet_name' }],
  unet: [{ type: 'UNETLoader', input: 'unet_name' }],
  text_encoders: [{ type: 'CLIPLoader', input: 'clip_name' }, { type: 'DualCLIPLoader', input: 'clip_name1' }],
  clip: [{ type: 'CLIPLoader', input: 'clip_name' }, { type: 'DualCLIPLoader', input: 'clip_name1' }],
  model_patches: [{ type: 'ModelPatchLoader', input: 'name' }],
  style_models: [{ type: 'StyleModelLoader', input: 'style_model_name' }],
  controlnet: [{ type: 'ControlNetLoader', input: 'control_net_name' }],
  upscale_models: [{ type: 'UpscaleModelLoader', input: 'model_name' }],
};

/** The loader for `file` of model folder `folder` among the classes in `info`, or null when none takes it. */
export function loaderFor(folder: string, file: string, info: ObjectInfo): LoaderChoice | null {
  for (const choice of LOADERS_BY_FOLDER[folder] ?? []) {
    const entry = info[choice.type];
    if (entry && (entry.input.required[choice.input] ?? entry.input.optional?.[choice.input])) return choice;
  }
  for (const entry of Object.values(info)) {
    if (!/(^|\/)loaders$/.test(entry.category)) continue;
    for (const [input, spec] of Object.entries(entry.input.required)) {
      if (Array.isArray(spec[0]) && (spec[0] as unknown[]).includes(file)) return { type: entry.name, input };
    }
  }
  return null;
}
