/**
 * ComfyUI's model routes beyond `/models`: `/experiment/models` (folders with their paths), `/experiment/models/{folder}`
 * (files with pathIndex, times and sizes), `/experiment/models/preview/{folder}/{index}/{file}` (a model's preview
 * picture as WebP) and `/view_metadata/{folder}?filename=` (a safetensors header's `__metadata__`).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import express from 'express';
import type { Router } from 'express';
import sharp from 'sharp';
import { HttpError } from '../http-error.ts';
import { isInside } from '../safe-path.ts';
import { linkRoots, listModelFiles, type ModelRoots } from '@uso-studio/nodes-comfy';
import { COMFY_MODEL_FOLDERS, PT_EXTENSION_SET, canonicalFolder, folderPaths } from './model-folders.ts';

/** ComfyUI reads at most this much safetensors header for /view_metadata. */
const MAX_METADATA_HEADER = 1024 * 1024;
const PREVIEW_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif'];

export interface ModelFileInfo {
  name: string;
  pathIndex: number;
  modified: number;
  created: number;
  size: number;
}

export function modelRoutes(modelsDir: ModelRoots): Router {
  const r = express.Router();

  r.get('/experiment/models', (_req, res) => {
    res.json(Object.keys(COMFY_MODEL_FOLDERS).map((name) => ({ name, folders: folderPaths(modelsDir, name) })));
  });

  r.get('/experiment/models/:folder', (req, res) => {
    const folder = canonicalFolder(String(req.params.folder));
    if (!folder) throw new HttpError(404, `Unknown model folder '${String(req.params.folder)}'`);
    res.json(folderPaths(modelsDir, folder).flatMap((dir, index) => folderFileInfos(modelsDir, dir, index)));
  });

  r.get('/experiment/models/preview/:folder/:pathIndex/*file', async (req, res) => {
    const folder = canonicalFolder(String(req.params.folder));
    const index = Number(req.params.pathIndex);
    const roots = folder ? folderPaths(modelsDir, folder) : [];
    if (!Number.isInteger(index) || index < 0 || index >= roots.length) throw new HttpError(404, 'No such model folder');
    const parts = ([] as string[]).concat(req.params.file as unknown as string[]);
    const model = insidePath(roots[index]!, parts.join('/'));
    const stem = model.slice(0, model.length - extname(model).length);
    const candidates = PREVIEW_EXTENSIONS.flatMap((ext) => [stem + ext, `${stem}.preview${ext}`]);
    const found = candidates.find((c) => isFileInside(roots[index]!, c));
    let source: Buffer | string | undefined = found;
    if (!source && model.endsWith('.safetensors')) {
      // Files written by some tools embed cover pictures in the metadata (ssmd_cover_images, a JSON list of base64).
      const covers = readMetadata(model)?.ssmd_cover_images;
      const first = typeof covers === 'string' ? (JSON.parse(covers) as unknown[])[0] : undefined;
      if (typeof first === 'string') source = Buffer.from(first, 'base64');
    }
    if (!source) throw new HttpError(404, 'No preview for this model');
    let webp: Buffer;
    try {
      webp = await sharp(source).webp().toBuffer();
    } catch {
      throw new HttpError(404, 'The preview is not a readable image');
    }
    res.type('image/webp').send(webp);
  });

  r.get('/view_metadata/:folder', (req, res) => {
    const folder = canonicalFolder(String(req.params.folder));
    const filename = typeof req.query.filename === 'string' ? req.query.filename : '';
    if (!folder || !filename.endsWith('.safetensors')) throw new HttpError(404, 'Not found');
    const file = folderPaths(modelsDir, folder).map((root) => tryInside(root, filename)).find((f) => f !== undefined);
    if (!file) throw new HttpError(404, 'File not found');
    const metadata = readMetadata(file);
    if (!metadata) throw new HttpError(404, 'No __metadata__ in this file');
    res.json(metadata);
  });

  return r;
}

/** The `__metadata__` object of a safetensors file, or undefined (no metadata, header too large, not safetensors). */
function readMetadata(file: string): Record<string, unknown> | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const lengthBytes = Buffer.alloc(8);
    if (readSync(fd, lengthBytes, 0, 8, 0) !== 8) return undefined;
    const length = lengthBytes.readBigUInt64LE(0);
    if (length < 2n || length > BigInt(MAX_METADATA_HEADER)) return undefined;
    const header = Buffer.alloc(Number(length));
    if (readSync(fd, header, 0, header.length, 8) !== header.length) return undefined;
    const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: unknown };
    const metadata = parsed?.__metadata__;
    return metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * ComfyUI's listing of one folder directory: its weight files at any depth, with times and size. The walk is the
 * loaders' (nodes-comfy listModelFiles: hidden names skipped, links followed only into the models directories).
 */
function folderFileInfos(roots: ModelRoots, dir: string, pathIndex: number): ModelFileInfo[] {
  const one = { folders: { listed: [dir] }, roots: linkRoots(roots) };
  return listModelFiles(one, 'listed', PT_EXTENSION_SET).flatMap((name) => {
    try {
      const st = statSync(join(dir, ...name.split('/')));
      // Model folders (shards with an index) are loader entries, not files ComfyUI would list.
      return st.isFile() ? [{ name, pathIndex, modified: st.mtimeMs / 1000, created: st.ctimeMs / 1000, size: st.size }] : [];
    } catch {
      return [];
    }
  });
}

/** `root/rel` when it exists inside root (lexically: models may be symlinked in, as ComfyUI allows); else a 404. */
function insidePath(root: string, rel: string): string {
  const found = tryInside(root, rel);
  if (!found) throw new HttpError(404, 'File not found');
  return found;
}

function tryInside(root: string, rel: string): string | undefined {
  const parts = rel.split('/');
  // eslint-disable-next-line no-control-regex
  if (rel === '' || parts.some((p) => p === '' || p === '.' || p === '..' || /[\u0000-\u001f\\]/.test(p))) return undefined;
  const full = join(root, ...parts);
  return isFileInside(root, full) ? full : undefined;
}

function isFileInside(root: string, full: string): boolean {
  try {
    return isInside(root, join(full)) && statSync(full).isFile();
  } catch {
    return false;
  }
}
