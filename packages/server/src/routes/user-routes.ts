/**
 * ComfyUI's user routes with its shapes: `/users`, `/settings[/{id}]`, `/userdata` (list), `/v2/userdata`,
 * `/userdata/{file}` (GET, POST with `overwrite`/`full_info`, DELETE) and `/userdata/{file}/move/{dest}`. The file
 * names arrive URL-encoded in one path segment (`workflows%2Fa.json`); UserStore applies the path rules.
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import express from 'express';
import type { Request, Router } from 'express';
import { HttpError } from '../http-error.ts';
import { isInside } from '../safe-path.ts';
import { UserStore, isRegularFile, writeAtomically } from './user-store.ts';

export interface UserRoutesOptions {
  store: UserStore;
  /** Largest userdata file or settings body accepted. */
  maxBodyBytes: number;
}

/** ComfyUI's file info: times in seconds (float), as os.path.getmtime gives them. */
interface FileInfo {
  path: string;
  size: number;
  modified: number;
  created: number;
}

/** Types a user file is served as; anything else (HTML, JS, SVG...) is a download, so stored files never run as pages. */
const PASSIVE_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.csv': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

export function userRoutes({ store, maxBodyBytes }: UserRoutesOptions): Router {
  const r = express.Router();
  // Settings values may be any JSON (a bare string or boolean), so this parser is not strict.
  const anyJson = express.json({ limit: maxBodyBytes, type: () => true, strict: false });
  const raw = express.raw({ limit: maxBodyBytes, type: () => true });
  const userOf = (req: Request) => store.userOf(req.get('comfy-user'));

  r.get('/users', (req, res) => {
    if (store.multiUser) {
      res.json({ storage: 'server', users: store.users });
      return;
    }
    res.json({ storage: 'server', migrated: existsDir(store.userDir(userOf(req))) });
  });

  r.post('/users', anyJson, (req, res) => {
    const username = (req.body as { username?: unknown } | null)?.username;
    if (typeof username !== 'string') throw new HttpError(400, 'username not provided');
    res.json(store.addUser(username));
  });

  r.get('/settings', (req, res) => {
    res.json(store.readSettings(userOf(req)));
  });

  r.get('/settings/:id', (req, res) => {
    const settings = store.readSettings(userOf(req));
    const id = String(req.params.id);
    res.json(Object.hasOwn(settings, id) ? settings[id] : null);
  });

  r.post('/settings', anyJson, (req, res) => {
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Settings must be a JSON object');
    const user = userOf(req);
    // Read, merge and write in one synchronous turn: concurrent posts cannot interleave and lose keys.
    store.writeSettings(user, { ...store.readSettings(user), ...(body as Record<string, unknown>) });
    res.status(200).end();
  });

  r.post('/settings/:id', anyJson, (req, res) => {
    const user = userOf(req);
    const settings = store.readSettings(user);
    settings[String(req.params.id)] = req.body;
    store.writeSettings(user, settings);
    res.status(200).end();
  });

  r.get('/userdata', (req, res) => {
    const dir = typeof req.query.dir === 'string' ? req.query.dir : '';
    if (!dir) throw new HttpError(400, 'Directory not provided');
    const user = userOf(req);
    const path = store.resolve(user, dir, false);
    if (!existsDir(path)) throw new HttpError(404, 'Directory not found');
    const flag = (name: string) => String(req.query[name] ?? '').toLowerCase() === 'true';
    const recurse = flag('recurse');
    const fullInfo = flag('full_info');
    const split = flag('split');
    const root = realUserRoot(store, user);
    const files = listFiles(path, root, recurse);
    res.json(files.map((file) => {
      if (fullInfo) return fileInfo(file, path);
      const rel = relPath(file, path);
      return split ? [rel, ...rel.split('/')] : rel;
    }));
  });

  r.get('/v2/userdata', (req, res) => {
    const user = userOf(req);
    const requested = typeof req.query.path === 'string' ? req.query.path : '';
    if (!requested && !existsDir(store.userDir(user))) {
      // A new user's folder does not exist yet: nothing to list.
      res.json([]);
      return;
    }
    const root = realUserRoot(store, user);
    const target = requested ? store.resolve(user, requested, false) : root;
    let st: Stats;
    try {
      st = statSync(target);
    } catch {
      throw new HttpError(404, 'Requested path not found');
    }
    if (!st.isDirectory()) throw new HttpError(400, 'Requested path is not a directory');
    const out: Record<string, unknown>[] = [];
    walk(target, root, true, (full, name, isDir, stats) => {
      const path = relPath(full, root);
      out.push(isDir ? { name, path, type: 'directory' } : { name, path, type: 'file', size: stats.size, modified: stats.mtimeMs / 1000 });
    });
    out.sort((a, b) => Number(a.type !== 'directory') - Number(b.type !== 'directory') || String(a.name).toLowerCase().localeCompare(String(b.name).toLowerCase()));
    res.json(out);
  });

  r.get('/userdata/:file', (req, res) => {
    const path = store.resolve(userOf(req), String(req.params.file), false);
    if (!isRegularFile(path)) throw new HttpError(404, 'File not found');
    const type = PASSIVE_TYPES[extname(path).toLowerCase()];
    res.setHeader('Content-Type', type ?? 'application/octet-stream');
    if (!type) res.setHeader('Content-Disposition', 'attachment');
    res.setHeader('Cache-Control', 'no-cache');
    res.send(readFileSync(path));
  });

  r.post('/userdata/:file', raw, (req, res) => {
    const user = userOf(req);
    const path = store.resolve(user, String(req.params.file), true);
    const overwrite = req.query.overwrite !== 'false';
    const fullInfo = String(req.query.full_info ?? 'false').toLowerCase() === 'true';
    if (existsDir(path)) throw new HttpError(400, 'Invalid filename: a folder has that name');
    if (!overwrite && isRegularFile(path)) throw new HttpError(409, 'File already exists');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      writeAtomically(path, body);
    } catch (error) {
      throw new HttpError(400, `Could not save the file: ${(error as Error).message}`);
    }
    const root = realUserRoot(store, user);
    res.json(fullInfo ? fileInfo(path, root) : relPath(path, root));
  });

  r.delete('/userdata/:file', (req, res) => {
    const path = store.resolve(userOf(req), String(req.params.file), false);
    if (!isRegularFile(path)) throw new HttpError(404, 'File not found');
    rmSync(path);
    res.status(204).end();
  });

  r.post('/userdata/:file/move/:dest', (req, res) => {
    const user = userOf(req);
    const source = store.resolve(user, String(req.params.file), false);
    if (!isRegularFile(source)) throw new HttpError(404, 'File not found');
    const dest = store.resolve(user, String(req.params.dest), true);
    const overwrite = req.query.overwrite !== 'false';
    const fullInfo = String(req.query.full_info ?? 'false').toLowerCase() === 'true';
    if (existsDir(dest)) throw new HttpError(400, 'Invalid destination: a folder has that name');
    if (!overwrite && isRegularFile(dest)) throw new HttpError(409, 'File already exists');
    renameSync(source, dest);
    const root = realUserRoot(store, user);
    res.json(fullInfo ? fileInfo(dest, root) : relPath(dest, root));
  });

  return r;
}

function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The real path of the user's folder (created), against which relative paths and link targets are computed. */
function realUserRoot(store: UserStore, user: string): string {
  const dir = store.userDir(user);
  mkdirSync(dir, { recursive: true });
  return realpathSync(dir);
}

function relPath(file: string, from: string): string {
  return relative(from, file).split(sep).join('/');
}

function fileInfo(file: string, from: string): FileInfo {
  const st = statSync(file);
  return { path: relPath(file, from), size: st.size, modified: st.mtimeMs / 1000, created: st.ctimeMs / 1000 };
}

/** Regular files under `dir` (sorted), skipping hidden names as ComfyUI's glob does; links must stay inside `root`. */
function listFiles(dir: string, root: string, recurse: boolean): string[] {
  const out: string[] = [];
  walk(dir, root, recurse, (full, _name, isDir) => {
    if (!isDir) out.push(full);
  });
  return out.sort();
}

function walk(dir: string, root: string, recurse: boolean, visit: (full: string, name: string, isDir: boolean, stats: Stats) => void, depth = 0): void {
  if (depth > 32) return;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const full = join(dir, name);
    let stats: Stats;
    let real: string;
    try {
      stats = statSync(full);
      real = realpathSync(full);
    } catch {
      continue;
    }
    if (!isInside(root, real)) continue;
    visit(full, name, stats.isDirectory(), stats);
    if (stats.isDirectory() && recurse) walk(full, root, recurse, visit, depth + 1);
  }
}
