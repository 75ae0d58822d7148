/**
 * Path checks for /view and /upload: a name or subfolder from a request may only ever reach a file inside its folder.
 * Each name part is checked on its own (no separators, no dot parts, no NUL or control characters), and the final path
 * is resolved through symlinks and compared against the folder's own real path.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { HttpError } from './http-error.ts';

const MAX_NAME = 255;
const MAX_DEPTH = 16;

/** Throws a 400 unless `name` is one plain file name (no separator, no `.`/`..`, no hidden dot file, no control characters). */
export function checkFileName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME) throw new HttpError(400, 'Invalid file name');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f/\\]/.test(name)) throw new HttpError(400, 'Invalid file name');
  if (name === '.' || name === '..' || name.startsWith('.')) throw new HttpError(400, 'Invalid file name');
  return name;
}

/** Splits a subfolder into checked parts; '' means the folder itself. Backslashes are refused, not converted. */
export function checkSubfolder(subfolder: string): string[] {
  if (subfolder === '') return [];
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(subfolder) || subfolder.startsWith('/')) throw new HttpError(403, 'Invalid subfolder');
  const parts = subfolder.split('/').filter((p) => p !== '');
  if (parts.length > MAX_DEPTH) throw new HttpError(400, 'Subfolder too deep');
  for (const p of parts) {
    if (p === '.' || p === '..' || p.length > MAX_NAME) throw new HttpError(403, 'Invalid subfolder');
  }
  return parts;
}

/** True when `child` is `root` or lies below it. Both must be real (symlink-free) absolute paths. */
export function isInside(root: string, child: string): boolean {
  return child === root || child.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The real path of an existing file `base/subfolder/name`, or an HttpError: 400 bad name, 403 escape (through a
 * symlink or otherwise), 404 missing.
 */
export function resolveExistingFile(base: string, subfolder: string, name: string): string {
  const parts = checkSubfolder(subfolder);
  checkFileName(name);
  const root = realpathSync(base);
  let real: string;
  try {
    real = realpathSync(join(root, ...parts, name));
  } catch {
    throw new HttpError(404, 'File not found');
  }
  if (!isInside(root, real) || real === root) throw new HttpError(403, 'Path escapes its folder');
  return real;
}

/**
 * The real path of the directory `base/subfolder` for writing. Missing parts are created one at a time, each only after
 * its parent was checked to be inside `base`, so a symlinked part can never make us create anything outside.
 */
export function resolveWritableDir(base: string, subfolder: string): string {
  const parts = checkSubfolder(subfolder);
  const root = realpathSync(base);
  let dir = root;
  for (const part of parts) {
    const next = join(dir, part);
    try {
      mkdirSync(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const real = realpathSync(next);
    if (!isInside(root, real)) throw new HttpError(403, 'Path escapes its folder');
    dir = real;
  }
  return dir;
}
