/**
 * The model files of ComfyUI's folders: listing a folder's weight files for combos, and resolving a selected name to a
 * file without ever leaving the folder's directories. A folder may span several directories (model-paths.ts: the data
 * directory's models/, `--models DIR`, extra_model_paths.yaml). Listing happens on request (each /object_info or
 * validation), so files dropped in show up at once.
 *
 * Besides files, two kinds of folders count as one model entry: a Hugging Face / diffusers component folder (shards
 * with a `*.safetensors.index.json`) and, in checkpoints, a whole diffusers pipeline snapshot (`model_index.json`
 * with transformer/, vae/, text_encoder/, text_encoder_2/); the loaders read them in place.
 */

import fs from 'node:fs';
import path from 'node:path';
import { linkRoots, searchDirs, type ModelRoots } from './model-paths.ts';

/** The ComfyUI folder names the loaders use. */
export type ModelFolder =
  | 'checkpoints'
  | 'diffusion_models'
  | 'loras'
  | 'vae'
  | 'text_encoders'
  | 'clip_vision'
  | 'model_patches';

const LOADER_FOLDERS: ReadonlySet<string> = new Set<ModelFolder>(['checkpoints', 'diffusion_models', 'loras', 'vae', 'text_encoders', 'clip_vision', 'model_patches']);

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

/** True for a folder name the loaders use. */
export function isModelFolder(name: string): name is ModelFolder {
  return LOADER_FOLDERS.has(name);
}

/** What a directory is as a model entry: a diffusers pipeline snapshot, a sharded component, or neither. */
export function modelFolderKind(dir: string): 'pipeline' | 'sharded' | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  if (entries.includes('model_index.json')) return 'pipeline';
  if (entries.some((f) => f.endsWith('.safetensors.index.json'))) return 'sharded';
  return undefined;
}

/**
 * The weight files (and model folders) of a ComfyUI folder, as names relative to their directory ('/' separated,
 * sorted, duplicates across directories listed once). Missing directories list nothing; unreadable sub-folders are
 * skipped; links out of the models directories are left out. `extensions` defaults to what the loaders can read.
 *
 * @example listModelFiles('/data/models', 'loras') // ['uso-demo-dit-lora.safetensors', 'styles/ink.safetensors']
 */
export function listModelFiles(roots: ModelRoots, folder: string, extensions: ReadonlySet<string> = MODEL_EXTENSIONS): string[] {
  const names = new Set<string>();
  const within = allowedRoots(roots);
  for (const dir of searchDirs(roots, folder)) walk(dir, '', names, 0, within, folder, extensions);
  return [...names].sort((a, b) => a.localeCompare(b, 'en'));
}

/** Real paths of the directories symlinks may resolve into. */
function allowedRoots(roots: ModelRoots): string[] {
  return linkRoots(roots).map(realPathOrUndefined).filter((p): p is string => p !== undefined);
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

function walk(
  root: string,
  rel: string,
  out: Set<string>,
  depth: number,
  within: readonly string[],
  folder: string,
  extensions: ReadonlySet<string>,
): void {
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
    const full = path.join(root, childRel);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      // A link out of the models folders is not listed (and resolveModelFile refuses it).
      const target = realPathOrUndefined(full);
      if (target === undefined || !within.some((r) => isInside(r, target))) continue;
      try {
        const st = fs.statSync(full);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch {
        continue;
      }
    }
    if (isDir) {
      const kind = modelFolderKind(full);
      if (kind === 'sharded' || (kind === 'pipeline' && folder === 'checkpoints')) out.add(childRel);
      else if (kind === undefined) walk(root, childRel, out, depth + 1, within, folder, extensions);
    } else if (isFile && extensions.has(path.extname(entry.name).toLowerCase())) out.add(childRel);
  }
}

/**
 * The absolute path of `name` inside `folder` (first directory that has it). Refuses absolute names, `..` segments,
 * other extensions and anything that resolves outside the folder's directories; a missing file is an error that
 * names where it was looked for. A symlink is followed only when its real target lies inside a models directory: one
 * pointing elsewhere (`/etc/passwd`) is refused before anything opens it, so no byte of it reaches a message. A name
 * without an extension may name a model folder (listModelFiles lists those).
 */
export function resolveModelFile(roots: ModelRoots, folder: ModelFolder, name: string): string {
  if (typeof name !== 'string' || name === '') throw new ModelFileError(folder, String(name), 'no file name given');
  const normalized = name.replace(/\\/g, '/').replace(/\/+$/, '');
  if (path.isAbsolute(normalized) || /^[A-Za-z]:/.test(normalized) || normalized.split('/').some((s) => s === '..')) {
    throw new ModelFileError(folder, name, 'the name must be a path inside the folder (no absolute paths, no "..")');
  }
  const isFileName = MODEL_EXTENSIONS.has(path.extname(normalized).toLowerCase());
  const within = allowedRoots(roots);
  const dirs = searchDirs(roots, folder);
  for (const dir of dirs) {
    const root = path.resolve(dir);
    const candidate = path.resolve(root, ...normalized.split('/'));
    if (!isInside(root, candidate)) continue;
    const real = realPathOrUndefined(candidate);
    if (real === undefined) continue;
    if (!within.some((r) => isInside(r, real))) {
      throw new ModelFileError(folder, name, 'is a link to a file outside the models folder; move or copy the file into it instead');
    }
    try {
      const st = fs.statSync(real);
      if (isFileName && st.isFile()) return candidate;
      if (!isFileName && st.isDirectory()) {
        const kind = modelFolderKind(real);
        if (kind === 'sharded' || (kind === 'pipeline' && folder === 'checkpoints')) return candidate;
      }
    } catch {
      // Try the next directory.
    }
  }
  if (!isFileName) {
    const folders = folder === 'checkpoints' ? 'shards with an index JSON, or a diffusers snapshot with model_index.json' : 'shards with an index JSON';
    throw new ModelFileError(folder, name, `expected a ${[...MODEL_EXTENSIONS].join(' or ')} file or a model folder (${folders}); none found in ${dirs.join(' or ')}`);
  }
  throw new ModelFileError(folder, name, `file not found in ${dirs.join(' or ')}; put the model file there (see the model list in the README)`);
}
