/**
 * File names from prompts resolved inside the host's folders, never outside them, plus ComfyUI's file naming:
 * the input listing LoadImage offers, `name [output]` annotations, and SaveImage's `<prefix>_<counter:05>_.png`.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { HostEnvironment } from '@uso-studio/core';

/** A file name from a prompt would leave its folder, or is not a usable name. */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/**
 * The absolute path of `relative` inside `baseDir`. Refuses absolute names, `..` escapes, NUL bytes and symlinks
 * (of the file or of a folder on the way) that lead outside `baseDir`. The file need not exist; when it does not,
 * the deepest existing folder is checked instead.
 * @throws UnsafePathError
 */
export function resolveInside(baseDir: string, relative: string): string {
  if (relative.includes('\0')) throw new UnsafePathError(`'${relative}' contains a NUL byte`);
  if (path.isAbsolute(relative) || path.win32.isAbsolute(relative)) {
    throw new UnsafePathError(`'${relative}' is an absolute path; only names inside the folder are allowed`);
  }
  const base = path.resolve(baseDir);
  const full = path.resolve(base, relative);
  if (!isWithin(base, full)) throw new UnsafePathError(`'${relative}' points outside its folder`);
  // Symlinks: compare real paths, using the deepest part of the path that exists.
  const realBase = realpathOr(base);
  let probe = full;
  while (!fs.existsSync(probe) && probe !== base) probe = path.dirname(probe);
  const realProbe = realpathOr(probe);
  if (!isWithin(realBase, realProbe)) throw new UnsafePathError(`'${relative}' leads outside its folder through a symlink`);
  return full;
}

function isWithin(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Extensions LoadImage lists and decodes (what sharp reads; ComfyUI lists files whose MIME type is image/*). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.jpe', '.jfif', '.webp', '.gif', '.tif', '.tiff', '.avif']);

const MAX_LIST_DEPTH = 4;

/**
 * The image files under `dir` for LoadImage's combo, with '/' separators: the top-level files first, sorted (exactly
 * ComfyUI's list, so the default choice is the same), then files in subfolders (uploads to `pasted/`, `clipspace/`),
 * sorted. Hidden entries and symlinks are skipped; a missing folder gives an empty list.
 */
export function listImageFiles(dir: string): string[] {
  const top: string[] = [];
  const nested: string[] = [];
  const walk = (folder: string, prefix: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) {
        if (depth < MAX_LIST_DEPTH) walk(path.join(folder, entry.name), `${prefix}${entry.name}/`, depth + 1);
      } else if (entry.isFile() && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
        (depth === 0 ? top : nested).push(prefix + entry.name);
      }
    }
  };
  walk(dir, '', 0);
  const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0); // Python's sorted()
  return [...top.sort(byCodePoint), ...nested.sort(byCodePoint)];
}

/** Which host folder a name refers to. */
export type FolderType = 'input' | 'output' | 'temp';

/**
 * Splits ComfyUI's annotated names: `photo.png [output]` names a file in the output folder; without an annotation the
 * default folder is used (as `folder_paths.get_annotated_filepath` does).
 */
export function parseAnnotatedName(name: string, defaultType: FolderType = 'input'): { name: string; type: FolderType } {
  const match = /^(.*) \[(input|output|temp)\]$/.exec(name);
  return match ? { name: match[1]!, type: match[2] as FolderType } : { name, type: defaultType };
}

/** The folder of `type` in the host environment. */
function folderOf(env: HostEnvironment, type: FolderType): string {
  return type === 'output' ? env.outputDir : type === 'temp' ? env.tempDir : env.inputDir;
}

/**
 * The absolute path of an annotated name (`a.png`, `pasted/a.png`, `a.png [output]`) inside its folder.
 * @throws UnsafePathError
 */
export function resolveAnnotatedPath(name: string, env: HostEnvironment): string {
  const parsed = parseAnnotatedName(name);
  if (parsed.name.trim() === '') throw new UnsafePathError('empty file name');
  return resolveInside(folderOf(env, parsed.type), parsed.name);
}

/** Where SaveImage writes a batch: the folder, the file name stem, the first counter and the subfolder reported to UIs. */
export interface SavePath {
  folder: string;
  filename: string;
  counter: number;
  /** Relative to the output folder, '/'-separated ('' for the folder itself). */
  subfolder: string;
}

/**
 * ComfyUI's `get_save_image_path`: expands `%width%`, `%height%`, `%year%`, `%month%`, `%day%`, `%hour%`,
 * `%minute%`, `%second%` and the frontend's `%date:FORMAT%` (yyyy, yy, MM, M, dd, d, hh, h, mm, m, ss, s); splits the
 * prefix into subfolder and file stem; and continues the counter after the highest existing `<stem>_<NNNNN>_` file.
 * Creates the subfolder when missing.
 * @throws UnsafePathError when the prefix would leave `outputDir`.
 */
export function getSaveImagePath(prefix: string, outputDir: string, width: number, height: number, now: Date = new Date()): SavePath {
  const expanded = expandPrefixVariables(prefix, width, height, now);
  // Like os.path.normpath: collapse '.', '..' and repeated separators, and drop a trailing separator.
  const normalized = path.posix.normalize(expanded.replaceAll('\\', '/')).replace(/(.)\/+$/, '$1');
  const slash = normalized.lastIndexOf('/');
  const subfolder = slash < 0 ? '' : normalized.slice(0, slash);
  const filename = slash < 0 ? normalized : normalized.slice(slash + 1);
  if (filename === '' || filename === '.' || filename === '..' || filename.includes('\0')) {
    throw new UnsafePathError(`filename_prefix '${prefix}' has no file name part`);
  }
  let folder: string;
  try {
    folder = resolveInside(outputDir, subfolder === '' ? '.' : subfolder);
  } catch (error) {
    throw new UnsafePathError(`Saving image outside the output folder is not allowed: filename_prefix '${prefix}' (${(error as Error).message})`);
  }
  fs.mkdirSync(folder, { recursive: true });
  return { folder, filename, counter: nextCounter(folder, filename), subfolder: subfolder === '.' ? '' : subfolder };
}

/** One more than the highest NNNNN among files named `<stem>_<NNNNN>_...` in `folder` (case-insensitive stem), or 1. */
function nextCounter(folder: string, stem: string): number {
  let highest = 0;
  const want = stem.toLowerCase();
  for (const file of fs.readdirSync(folder)) {
    // ComfyUI compares the first len(stem) + 1 characters with `<stem>_` and reads the digits up to the next '_'.
    const head = file.slice(0, stem.length + 1);
    if (head.slice(0, -1).toLowerCase() !== want || !head.endsWith('_')) continue;
    const digits = file.slice(stem.length + 1).split('_')[0]!;
    const value = /^\d+$/.test(digits) ? Number.parseInt(digits, 10) : 0;
    if (value > highest) highest = value;
  }
  return highest + 1;
}

function expandPrefixVariables(prefix: string, width: number, height: number, now: Date): string {
  if (!prefix.includes('%')) return prefix;
  const pad = (n: number) => String(n).padStart(2, '0');
  const simple: Record<string, string> = {
    width: String(width),
    height: String(height),
    year: String(now.getFullYear()),
    month: pad(now.getMonth() + 1),
    day: pad(now.getDate()),
    hour: pad(now.getHours()),
    minute: pad(now.getMinutes()),
    second: pad(now.getSeconds()),
  };
  return prefix
    .replace(/%date:([^%]+)%/g, (_, format: string) => formatDate(format, now))
    .replace(/%(width|height|year|month|day|hour|minute|second)%/g, (_, key: string) => simple[key]!);
}

/** The frontend's date tokens; longest token first so `yyyy` is not read as two `yy`. */
function formatDate(format: string, now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const tokens: Record<string, string> = {
    yyyy: String(now.getFullYear()),
    yy: String(now.getFullYear()).slice(-2),
    MM: pad(now.getMonth() + 1),
    M: String(now.getMonth() + 1),
    dd: pad(now.getDate()),
    d: String(now.getDate()),
    hh: pad(now.getHours()),
    h: String(now.getHours()),
    mm: pad(now.getMinutes()),
    m: String(now.getMinutes()),
    ss: pad(now.getSeconds()),
    s: String(now.getSeconds()),
  };
  return format.replace(/yyyy|yy|MM|M|dd|d|hh|h|mm|m|ss|s/g, (token) => tokens[token]!);
}
