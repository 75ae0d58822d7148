/**
 * ComfyUI's per-user storage (app/user_manager.py, app/app_settings.py): `<data>/user/<user id>/` holds each user's
 * files, `comfy.settings.json` among them; `<data>/user/users.json` maps user ids to names in multi-user mode.
 *
 * Path rules are ComfyUI's (a request path is relative to the user's folder; a `%` in it is decoded once more), made
 * strict: every part is checked on its own (no `.`/`..`, no backslash, no control characters), and the real path after
 * resolving symlinks must stay inside the user's folder, so nothing a request names can reach outside it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HttpError } from '../http-error.ts';
import { isInside } from '../safe-path.ts';

export const DEFAULT_USER = 'default';
export const SETTINGS_FILE = 'comfy.settings.json';
const USER_ID = /^[A-Za-z0-9_-]{1,200}$/;
const MAX_PART = 255;
const MAX_DEPTH = 32;

export interface UserStoreOptions {
  /** `<data>/user`. */
  root: string;
  /** ComfyUI's --multi-user: the `comfy-user` header picks the user, from users.json. */
  multiUser?: boolean;
}

export class UserStore {
  readonly root: string;
  readonly multiUser: boolean;
  /** id -> name; in single-user mode only `default`. */
  readonly users: Record<string, string>;

  constructor(options: UserStoreOptions) {
    this.root = options.root;
    this.multiUser = options.multiUser ?? false;
    mkdirSync(this.root, { recursive: true });
    this.users = this.multiUser ? this.#readUsersFile() : { [DEFAULT_USER]: DEFAULT_USER };
  }

  get usersFile(): string {
    return join(this.root, 'users.json');
  }

  /** The user a request acts for: `comfy-user` in multi-user mode, else `default`. Unknown users get 403. */
  userOf(header: string | undefined): string {
    const user = this.multiUser && header ? header : DEFAULT_USER;
    if (!Object.hasOwn(this.users, user) || !USER_ID.test(user)) throw new HttpError(403, `Unknown user: ${user}`);
    return user;
  }

  /** The user's own folder (not created). */
  userDir(user: string): string {
    return join(this.root, user);
  }

  /** Creates a user from a display name (ComfyUI's id: the name made safe, `_`, a UUID) and persists users.json. */
  addUser(name: string): string {
    const trimmed = name.trim();
    if (!trimmed) throw new HttpError(400, 'username not provided');
    if (Object.values(this.users).includes(trimmed)) throw new HttpError(400, 'Duplicate username.', { error: 'Duplicate username.' });
    const id = `${trimmed.replace(/[^a-zA-Z0-9_-]+/g, '-')}_${randomUUID()}`.slice(0, 200);
    this.users[id] = trimmed;
    writeAtomically(this.usersFile, JSON.stringify(this.users));
    return id;
  }

  /**
   * The absolute path of `file` inside `user`'s folder, checked part by part and through symlinks. `create` makes
   * the user's folder and the file's parent folders. Refusals are 403, as ComfyUI answers a path that leaves the folder.
   */
  resolve(user: string, file: string, create: boolean): string {
    const decoded = file.includes('%') ? safeDecode(file) : file;
    const parts = decoded.split('/').filter((p) => p !== '');
    if (parts.length === 0 || parts.length > MAX_DEPTH) throw new HttpError(403, 'Invalid path');
    for (const p of parts) {
      // eslint-disable-next-line no-control-regex
      if (p === '.' || p === '..' || p.length > MAX_PART || /[\u0000-\u001f\u007f\\]/.test(p)) throw new HttpError(403, 'Invalid path');
    }
    const base = this.userDir(user);
    if (create) mkdirSync(base, { recursive: true });
    if (!existsSync(base)) return join(base, ...parts);
    const realBase = realpathSync(base);
    let dir = realBase;
    // Walk the parent folders one at a time so a symlinked part can neither be created through nor followed out.
    for (let i = 0; i < parts.length - 1; i++) {
      const next = join(dir, parts[i]!);
      if (create) {
        try {
          mkdirSync(next);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
      if (!lexists(next)) return join(next, ...parts.slice(i + 1));
      dir = realInside(realBase, next);
    }
    const target = join(dir, parts.at(-1)!);
    // A link (even a dangling one, which a write would follow) must resolve inside the user's folder.
    return lexists(target) ? realInside(realBase, target) : target;
  }

  /** The user's settings; a missing or corrupt file reads as `{}` (ComfyUI logs and carries on). */
  readSettings(user: string): Record<string, unknown> {
    const file = join(this.userDir(user), SETTINGS_FILE);
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  writeSettings(user: string, settings: Record<string, unknown>): void {
    mkdirSync(this.userDir(user), { recursive: true });
    writeAtomically(join(this.userDir(user), SETTINGS_FILE), JSON.stringify(settings, null, 4));
  }

  #readUsersFile(): Record<string, string> {
    if (!existsSync(this.usersFile)) return {};
    const parsed: unknown = JSON.parse(readFileSync(this.usersFile, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${this.usersFile} is not a JSON object of user ids to names`);
    return Object.fromEntries(Object.entries(parsed).filter(([id, name]) => USER_ID.test(id) && typeof name === 'string')) as Record<string, string>;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'Invalid percent-encoding in path');
  }
}

/** Writes through a temporary sibling and a rename, so a crash never leaves a half-written file. */
export function writeAtomically(path: string, data: string | Buffer): void {
  const tmp = join(dirname(path), `.${Date.now().toString(36)}-${randomUUID()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function realInside(realBase: string, path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new HttpError(403, 'Path escapes the user folder');
  }
  if (!isInside(realBase, real) || real === realBase) throw new HttpError(403, 'Path escapes the user folder');
  return real;
}

/** True when `path` is a regular file (not following a final symlink out: callers resolve first). */
export function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
