/**
 * ComfyUI's `extra_model_paths.yaml`: named sections, each with an optional `base_path` (relative to the YAML file's
 * folder; `~` and `$VARS` expanded), an optional `is_default`, and per-folder paths relative to the base. A folder's
 * value is one path, a multi-line string (one path per line, as ComfyUI's template writes them) or a list. Legacy
 * folder names (`unet`, `clip`) are mapped as ComfyUI maps them. Paths that do not exist are reported, not fatal: a
 * shared config often names folders of an install that is only partly there.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { buildModelSearchPaths, type ExtraModelDir, type ModelSearchPaths } from './model-paths.ts';

/** The folder directories a YAML file adds, and those among them that do not exist. */
export interface ExtraModelPaths {
  readonly dirs: readonly ExtraModelDir[];
  readonly missing: readonly string[];
}

/** A config that cannot be used at all (unreadable, not YAML, wrong shape), naming the file and the problem. */
export class ExtraModelPathsError extends Error {
  override name = 'ExtraModelPathsError';
}

/**
 * Reads an extra_model_paths.yaml.
 *
 * @example
 * readExtraModelPaths('/opt/ComfyUI/extra_model_paths.yaml').dirs
 * // [{ folder: 'checkpoints', dir: '/mnt/models/checkpoints', isDefault: false, base: '/mnt/models' }, ...]
 */
export function readExtraModelPaths(file: string): ExtraModelPaths {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExtraModelPathsError(`${file}: cannot read the extra model paths file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let config: unknown;
  try {
    config = parse(text);
  } catch (error) {
    throw new ExtraModelPathsError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return extraModelPathsFrom(config, path.dirname(path.resolve(file)), file);
}

/** The same from parsed YAML, with relative paths resolved against `yamlDir`. */
export function extraModelPathsFrom(config: unknown, yamlDir: string, label = 'extra_model_paths.yaml'): ExtraModelPaths {
  if (config === null || config === undefined) return { dirs: [], missing: [] };
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ExtraModelPathsError(`${label}: expected named sections (a mapping at the top level)`);
  }
  const dirs: ExtraModelDir[] = [];
  for (const [section, body] of Object.entries(config as Record<string, unknown>)) {
    if (body === null || body === undefined) continue;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new ExtraModelPathsError(`${label}: section '${section}' must map folder names to paths`);
    }
    const entries = { ...(body as Record<string, unknown>) };
    const baseRaw = entries.base_path;
    delete entries.base_path;
    const isDefault = entries.is_default === true || entries.is_default === 'true';
    delete entries.is_default;
    let base: string | undefined;
    if (baseRaw !== undefined && baseRaw !== null) {
      if (typeof baseRaw !== 'string') throw new ExtraModelPathsError(`${label}: section '${section}': base_path must be a path`);
      const expanded = expandPath(baseRaw);
      base = path.resolve(yamlDir, expanded);
    }
    for (const [folder, value] of Object.entries(entries)) {
      for (const entry of pathsOf(value, `${label}: section '${section}', folder '${folder}'`)) {
        const expanded = expandPath(entry);
        const dir = path.resolve(base ? path.join(base, expanded) : path.isAbsolute(expanded) ? expanded : path.join(yamlDir, expanded));
        dirs.push({ folder, dir, isDefault, base: base ?? (path.isAbsolute(expanded) ? dir : yamlDir) });
      }
    }
  }
  const missing = [...new Set(dirs.map((d) => d.dir).filter((d) => !isDirectory(d)))];
  return { dirs, missing };
}

function pathsOf(value: unknown, where: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => {
    if (typeof item !== 'string') throw new ExtraModelPathsError(`${where}: expected a path, a multi-line string of paths or a list of paths`);
    return item.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  });
}

/** `~` and `$VAR` / `${VAR}` as ComfyUI's os.path.expanduser / expandvars treat them (unknown variables stay). */
function expandPath(p: string): string {
  const withVars = p.replace(/\$(\w+)|\$\{(\w+)\}/g, (all, a: string | undefined, b: string | undefined) => process.env[a ?? b ?? ''] ?? all);
  return withVars === '~' || withVars.startsWith('~/') ? path.join(os.homedir(), withVars.slice(1)) : withVars;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The search paths a host gets from its flags: the data directory's models folder first, then each `--models DIR`,
 * then an extra_model_paths.yaml (its `is_default` sections in front). Directories that do not exist are reported
 * through `report` once, here, and are otherwise harmless.
 */
export function hostModelSearchPaths(
  modelsDir: string,
  options: { readonly modelDirs?: readonly string[]; readonly extraModelPathsFile?: string; readonly report?: (line: string) => void },
): ModelSearchPaths {
  const report = options.report ?? (() => {});
  const dirs = [modelsDir, ...(options.modelDirs ?? [])].map((d) => path.resolve(d));
  for (const d of dirs.slice(1)) if (!isDirectory(d)) report(`--models ${d}: no such folder (ignored until it exists)`);
  const extra = options.extraModelPathsFile ? readExtraModelPaths(options.extraModelPathsFile) : undefined;
  if (extra && extra.missing.length > 0) {
    report(`${options.extraModelPathsFile}: ${extra.missing.length} folder(s) do not exist and are skipped: ${extra.missing.join(', ')}`);
  }
  return buildModelSearchPaths(dirs, extra?.dirs ?? []);
}
