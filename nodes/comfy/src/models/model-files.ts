/**
 * ComfyUI's model folders under the host's models directory: which sub-folders each folder name covers (aliases),
 * listing the weight files of a folder for combos, and resolving a selected name to a file without ever leaving
 * that folder. Listing happens on request (each /object_info or validation), so files dropped in show up at once.
 */

import fs from 'node:fs';
import path from 'node:path';

/** The ComfyUI folder names the loaders use. */
export type ModelFolder =
  | 'checkpoints'
  | 'diffusion_models'
  | 'loras'
  | 'vae'
  | 'text_encoders'
  | 'clip_vision'
  | 'model_patches';

/** Sub-directories of the models directory searched for each folder, in priority order (ComfyUI's aliases). */
export const MODEL_FOLDER_DIRS: Readonly<Record<ModelFolder, readonly string[]>> = {
  checkpoints: ['checkpoints'],
  diffusion_models: ['diffusion_models', 'unet'],
  loras: ['loras'],
  vae: ['vae'],
  text_encoders: ['text_encoders', 'clip'],
  clip_vision: ['clip_vision'],
  model_patches: ['model_patches'],
};

/** File extensions listed and accepted (only safetensors are readable without Python). */
export const MODEL_EXTENSIONS: ReadonlySet<string> = new Set(['.safetensors', '.sft']);

/** A selected model name does not name a usable file of its folder. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(
    readonly folder: ModelFolder,
    readonly fileName: string,
    detail: string,
  ) {
    super(`${folder}/${fileName}: ${detail}`);
  }
}

/** True for a known folder name. */
export function isModelFolder(name: string): name is ModelFolder {
  return Object.hasOwn(MODEL_FOLDER_DIRS, name);
}

/**
 * The weight files of a folder, as names relative to their folder root ('/' separated, sorted, duplicates across
 * aliases listed once). Missing folders list nothing; unreadable sub-folders are skipped.
 *
 * @example listModelFiles('/data/models', 'loras') // ['uso-demo-dit-lora.safetensors', 'styles/ink.safetensors']
 */
export function listModelFiles(modelsDir: string, folder: ModelFolder): string[] {
  const names = new Set<string>();
  const within = realPathOrUndefined(modelsDir);
  if (within === undefined) return [];
  for (const sub of MODEL_FOLDER_DIRS[folder]) {
    const root = path.join(modelsDir, sub);
    walk(root, '', names, 0, within);
  }
  return [...names].sort((a, b) => a.localeCompare(b, 'en'));
}

/** The real path (symlinks resolved), or undefined when it does not exist or cannot be read. */
function realPathOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/** True when real path `p` is `root` or inside it. */
function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function walk(root: string, rel: string, out: Set<string>, depth: number, within: string): void {
  // Deep trees are almost certainly a symlink loop; ComfyUI's walk follows links too, so cap the depth instead.
  if (depth > 16) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      // A link out of the models folder is not listed (and resolveModelFile refuses it).
      const target = realPathOrUndefined(path.join(root, childRel));
      if (target === undefined || !isInside(within, target)) continue;
      try {
        const st = fs.statSync(path.join(root, childRel));
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch {
        continue;
      }
    }
    if (isDir) walk(root, childRel, out, depth + 1, within);
    else if (isFile && MODEL_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.add(childRel);
  }
}

/**
 * The absolute path of `name` inside `folder` (first alias that has it). Refuses absolute names, `..` segments,
 * other extensions and anything that resolves outside the folder root; a missing file is an error that names the
 * folder and lists what is there. A symlink is followed only when its real target lies inside the models directory:
 * one pointing elsewhere (`/etc/passwd`) is refused before anything opens it, so no byte of it reaches a message.
 */
export function resolveModelFile(modelsDir: string, folder: ModelFolder, name: string): string {
  if (typeof name !== 'string' || name === '') throw new ModelFileError(folder, String(name), 'no file name given');
  const normalized = name.replace(/\\/g, '/');
  if (path.isAbsolute(normalized) || /^[A-Za-z]:/.test(normalized) || normalized.split('/').some((s) => s === '..')) {
    throw new ModelFileError(folder, name, 'the name must be a path inside the folder (no absolute paths, no "..")');
  }
  if (!MODEL_EXTENSIONS.has(path.extname(normalized).toLowerCase())) {
    throw new ModelFileError(folder, name, `expected a ${[...MODEL_EXTENSIONS].join(' or ')} file`);
  }
  const within = realPathOrUndefined(modelsDir);
  for (const sub of MODEL_FOLDER_DIRS[folder]) {
    const root = path.resolve(modelsDir, sub);
    const candidate = path.resolve(root, ...normalized.split('/'));
    if (!isInside(root, candidate)) continue;
    const real = realPathOrUndefined(candidate);
    if (real === undefined || within === undefined) continue;
    if (!isInside(within, real)) {
      throw new ModelFileError(folder, name, `is a link to a file outside the models folder ${modelsDir}; move or copy the file into it instead`);
    }
    try {
      if (fs.statSync(real).isFile()) return candidate;
    } catch {
      // Try the next alias.
    }
  }
  const where = MODEL_FOLDER_DIRS[folder].map((d) => path.join(modelsDir, d)).join(' or ');
  throw new ModelFileError(folder, name, `file not found in ${where}; put the model file there (see the model list in the README)`);
}
