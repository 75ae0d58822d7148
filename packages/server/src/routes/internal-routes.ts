/**
 * ComfyUI's `/internal/*` routes (api_server/routes/internal/internal_routes.py), which its front end uses: the log
 * ring (`/logs`, `/logs/raw`, `PATCH /logs/subscribe` for `logs` WebSocket messages), `/folder_paths` and
 * `/files/{input|output|temp}` (file names, newest first). Served under `/internal` and `/api/internal`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../http-error.ts';
import type { LogBuffer, LogEntry } from './log-buffer.ts';
import type { ModelRoots } from '@uso-studio/nodes-comfy';
import { COMFY_MODEL_FOLDERS, folderPaths } from './model-folders.ts';

export interface InternalRoutesOptions {
  logs: LogBuffer;
  modelsDir: ModelRoots;
  dirs: { inputDir: string; outputDir: string; tempDir: string };
  /** Sends a WebSocket message to one client id. */
  send: (clientId: string, type: string, data: unknown) => void;
  maxBodyBytes: number;
}

/** The terminal size ComfyUI reports when it has no terminal (TerminalService's fallback). */
const TERMINAL_SIZE = { cols: 80, rows: 24 };

const subscribeSchema = z.object({ clientId: z.string().min(1).max(256), enabled: z.boolean() });

export function internalRoutes(options: InternalRoutesOptions): Router {
  const r = express.Router();
  const json = express.json({ limit: options.maxBodyBytes, type: () => true });
  const subscribers = new Set<string>();
  let sizeSent = false;
  options.logs.onEntries((entries: LogEntry[]) => {
    // ComfyUI sends the size only when it changed since the last message; ours never changes after the first.
    const size = sizeSent ? null : TERMINAL_SIZE;
    sizeSent = true;
    for (const id of subscribers) options.send(id, 'logs', { entries, size });
  });

  r.get('/logs', (_req, res) => {
    res.json(options.logs.text());
  });

  r.get('/logs/raw', (_req, res) => {
    res.json({ entries: options.logs.entries(), size: TERMINAL_SIZE });
  });

  r.patch('/logs/subscribe', json, (req, res) => {
    const parsed = subscribeSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, `Invalid request: ${z.prettifyError(parsed.error)}`);
    if (parsed.data.enabled) subscribers.add(parsed.data.clientId);
    else subscribers.delete(parsed.data.clientId);
    res.status(200).end();
  });

  r.get('/folder_paths', (_req, res) => {
    res.json(Object.fromEntries(Object.keys(COMFY_MODEL_FOLDERS).map((name) => [name, folderPaths(options.modelsDir, name)])));
  });

  r.get('/files/:type', (req, res) => {
    const type = String(req.params.type);
    const dir = type === 'input' ? options.dirs.inputDir : type === 'output' ? options.dirs.outputDir : type === 'temp' ? options.dirs.tempDir : undefined;
    if (!dir) {
      res.status(400).json({ error: 'Invalid directory type' });
      return;
    }
    const files: { name: string; mtime: number }[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith('.')) continue;
      try {
        files.push({ name: entry.name, mtime: statSync(join(dir, entry.name)).mtimeMs });
      } catch {
        // Removed while listing.
      }
    }
    res.json(files.sort((a, b) => b.mtime - a.mtime).map((f) => f.name));
  });

  return r;
}
