/**
 * ComfyUI's model folder table (folder_paths.py): each folder name, the sub-directories of `models/` it covers in
 * order, and the extensions listed. `/experiment/models`, `/internal/folder_paths` and `/view_metadata` read it.
 */
import { join } from 'node:path';

/** ComfyUI's supported_pt_extensions. */
export const PT_EXTENSIONS: readonly string[] = ['.ckpt', '.pt', '.pt2', '.bin', '.pth', '.safetensors', '.pkl', '.sft'];

/** Folder name -> sub-directories of models/, in ComfyUI's order (`configs` and `custom_nodes` are left out: no Python here). */
export const COMFY_MODEL_FOLDERS: Readonly<Record<string, readonly string[]>> = {
  checkpoints: ['checkpoints'],
  loras: ['loras'],
  vae: ['vae'],
  text_encoders: ['text_encoders', 'clip'],
  diffusion_models: ['unet', 'diffusion_models'],
  clip_vision: ['clip_vision'],
  style_models: ['style_models'],
  embeddings: ['embeddings'],
  diffusers: ['diffusers'],
  vae_approx: ['vae_approx'],
  controlnet: ['controlnet', 't2i_adapter'],
  gligen: ['gligen'],
  upscale_models: ['upscale_models'],
  hypernetworks: ['hypernetworks'],
  photomaker: ['photomaker'],
  classifiers: ['classifiers'],
  model_patches: ['model_patches'],
  audio_encoders: ['audio_encoders'],
};

/** ComfyUI's legacy names (folder_paths.map_legacy). */
const LEGACY: Readonly<Record<string, string>> = { unet: 'diffusion_models', clip: 'text_encoders' };

/** The canonical folder name for `name`, or undefined when ComfyUI has no such folder. */
export function canonicalFolder(name: string): string | undefined {
  const mapped = LEGACY[name] ?? name;
  return Object.hasOwn(COMFY_MODEL_FOLDERS, mapped) ? mapped : undefined;
}

/** Absolute paths searched for a folder, in order. */
export function folderPaths(modelsDir: string, folder: string): string[] {
  return (COMFY_MODEL_FOLDERS[folder] ?? []).map((sub) => join(modelsDir, sub));
}
