/**
 * Where model files are searched: ComfyUI's folder table (folder_paths.py: each folder name and the sub-directories
 * of a models directory it covers), several models directories (the data directory's `models/`, each `--models DIR`),
 * and the per-folder directories of a ComfyUI `extra_model_paths.yaml`, so a ComfyUI install's folders are used in
 * place. The host computes a ModelSearchPaths once and puts it in the environment; nodes and routes only read it.
 */

import path from 'node:path';
import type { HostEnvironment, ModelSearchPaths } from '@uso-studio/core';

export type { ModelSearchPaths } from '@uso-studio/core';

/** ComfyUI's folder names and the sub-directories of a models directory each covers, in ComfyUI's search order. */
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

/** ComfyUI's legacy folder names (folder_paths.map_legacy). */
const LEGACY_FOLDERS: Readonly<Record<string, string>> = { unet: 'diffusion_models', clip: 'text_encoders' };

/** The canonical folder name for `name` (legacy names mapped), or undefined when ComfyUI has no such folder. */
export function canonicalFolder(name: string): string | undefined {
  const mapped = LEGACY_FOLDERS[name] ?? name;
  return Object.hasOwn(COMFY_MODEL_FOLDERS, mapped) ? mapped : undefined;
}

/** A folder directory from an extra_model_paths.yaml section. */
export interface ExtraModelDir {
  readonly folder: string;
  readonly dir: string;
  /** The section's `is_default`: searched before the models directories (ComfyUI puts it first). */
  readonly isDefault: boolean;
  /** The section's base_path (or the YAML file's folder): symlinks inside it are followed. */
  readonly base: string;
}

/**
 * The search paths for models directories in order (the data directory's first) and extra folder directories.
 *
 * @example
 * buildModelSearchPaths(['/data/models', '/mnt/comfy/models']).folders.loras // ['/data/models/loras', '/mnt/comfy/models/loras']
 */
export function buildModelSearchPaths(modelsDirs: readonly string[], extra: readonly ExtraModelDir[] = []): ModelSearchPaths {
  const folders: Record<string, string[]> = {};
  const add = (folder: string, dir: string, first: boolean) => {
    const list = (folders[folder] ??= []);
    const abs = path.resolve(dir);
    const at = list.indexOf(abs);
    if (at >= 0) {
      if (!first) return;
      list.splice(at, 1);
    }
    if (first) list.unshift(abs);
    else list.push(abs);
  };
  for (const dir of modelsDirs) {
    for (const [folder, subs] of Object.entries(COMFY_MODEL_FOLDERS)) for (const sub of subs) add(folder, path.join(dir, sub), false);
  }
  // Defaults go first in file order, so the first default section stays in front (ComfyUI inserts each at 0).
  for (const e of [...extra.filter((x) => x.isDefault)].reverse()) add(canonicalFolder(e.folder) ?? e.folder, e.dir, true);
  for (const e of extra.filter((x) => !x.isDefault)) add(canonicalFolder(e.folder) ?? e.folder, e.dir, false);
  const roots = [...new Set([...modelsDirs.map((d) => path.resolve(d)), ...extra.map((e) => path.resolve(e.base))])];
  return { folders, roots };
}

/** A single models directory, or the host's full search paths. */
export type ModelRoots = string | ModelSearchPaths;

/** What the environment says: its search paths when the host computed them, else its one models directory. */
export function modelRootsOf(env: Pick<HostEnvironment, 'modelsDir' | 'modelSearchPaths'>): ModelRoots {
  return env.modelSearchPaths ?? env.modelsDir;
}

/** The directories searched for `folder`, in order. */
export function searchDirs(roots: ModelRoots, folder: string): string[] {
  if (typeof roots === 'string') return (COMFY_MODEL_FOLDERS[folder] ?? []).map((sub) => path.join(roots, sub));
  return [...(roots.folders[folder] ?? [])];
}

/** The base directories a symlinked model file may resolve into. */
export function linkRoots(roots: ModelRoots): string[] {
  return typeof roots === 'string' ? [roots] : [...roots.roots];
}
