/**
 * The express application: ComfyUI's HTTP routes, mounted at / and at /api, behind the security middleware. Route
 * handlers only validate, read or write SQLite and post messages; none of them waits on inference.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { validatePrompt } from '@uso-studio/core';
import type { HostEnvironment, NodeRegistry } from '@uso-studio/core';
import { isModelFolder, listModelFiles, modelRootsOf } from '@uso-studio/nodes-comfy';
import { z } from 'zod';
import type { Engine } from './engine.ts';
import { handleUpload, serveView } from './files.ts';
import { DISK_FULL_MESSAGE, isDiskFull } from './disk-full.ts';
import { HttpError, errorBody } from './http-error.ts';
import { checkMemoryBudget, checkPromptSize, checkTextLengths, queueStorageFull, type PromptLimits } from './prompt-limits.ts';
import type { PromptQueue } from './prompt-queue.ts';
import { clearDeleteSchema, freeSchema, historyQuerySchema, interruptSchema, promptBodySchema } from './schemas.ts';
import type { Security } from './security.ts';
import type { QueueItem, Store } from './store.ts';
import { systemStats } from './system-stats.ts';
import { frontendRoutes } from './routes/frontend-routes.ts';
import { internalRoutes } from './routes/internal-routes.ts';
import type { LogBuffer } from './routes/log-buffer.ts';
import { handleMaskUpload } from './routes/mask-upload.ts';
import { modelRoutes } from './routes/model-routes.ts';
import { PT_EXTENSION_SET, canonicalFolder } from './routes/model-folders.ts';
import { userRoutes } from './routes/user-routes.ts';
import type { UserStore } from './routes/user-store.ts';

export interface AppContext {
  env: HostEnvironment;
  registry: NodeRegistry;
  store: Store;
  queue: PromptQueue;
  engine: Engine;
  /** Mounted ahead of the security middleware; its routes must check their own credentials. */
  beforeAuth?: { path: string; router: Router };
  security: Security;
  maxUploadBytes: number;
  maxBodyBytes: number;
  /** Prompt size, text length, memory budget and queue storage limits (prompt-limits.ts). */
  limits: PromptLimits;
  /** The editor's static build, served at / when present. */
  editorDir?: string;
  /** Per-user settings and files (`<data>/user`). */
  users: UserStore;
  /** Recent log lines for /internal/logs. */
  logs: LogBuffer;
  /** Sends a WebSocket message to one client id (the `logs` subscription). */
  sendToClient: (clientId: string, type: string, data: unknown) => void;
  /** Workflow templates served by /workflow_templates (the repository's workflows/ folder). */
  workflowsDir?: string;
}

/** Model folders ComfyUI clients ask for by name; listed even before they exist. */
export const MODEL_FOLDERS = [
  'checkpoints', 'clip', 'clip_vision', 'controlnet', 'diffusion_models', 'embeddings', 'loras', 'model_patches',
  'style_models', 'text_encoders', 'unet', 'upscale_models', 'vae',
] as const;

/** Keys ComfyUI strips from extra_data before showing a queue item to anyone. */
const SENSITIVE_EXTRA_KEYS = ['auth_token_comfy_org', 'api_key_comfy_org'];

export function createApp(ctx: AppContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    next();
  });
  // Routes that authenticate on their own (remote workers' file transfer, with a per-prompt token).
  if (ctx.beforeAuth) app.use(ctx.beforeAuth.path, ctx.beforeAuth.router);
  app.use(ctx.security.middleware());
  const api = apiRouter(ctx);
  app.use('/api', api);
  app.use(api);
  // The socket itself is served on the HTTP server's upgrade event; a plain GET gets aiohttp's 400, as in ComfyUI.
  app.get(['/ws', '/api/ws'], (_req, _res, next) => next(new HttpError(400, 'No WebSocket UPGRADE header: /ws only upgrades to a WebSocket')));
  if (ctx.editorDir && existsSync(join(ctx.editorDir, 'index.html'))) {
    const editorDir = ctx.editorDir;
    app.use(express.static(editorDir, { dotfiles: 'deny', index: 'index.html' }));
    // server.py registers its "/" route under /api too, serving index.html uncached.
    app.get('/api/', (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(join(editorDir, 'index.html'));
    });
  } else {
    app.get(['/', '/api/'], (_req, res) => {
      res.type('text/plain').send('USO Studio server is running. The editor is not built (packages/editor/dist is missing); the API is at /api.');
    });
  }
  app.use((_req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, 'Not found')));
  app.use(errorHandler);
  return app;
}

/** Every failure becomes JSON: an HttpError with its status, a body-parser error with its 4xx, anything else 500. */
function errorHandler(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    res.status(error.status).json(error.body);
    return;
  }
  const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const message = e.type === 'entity.too.large' ? 'Request body too large' : e.type === 'entity.parse.failed' ? 'Malformed JSON body' : String(e.message ?? 'Bad request');
    res.status(status).json(errorBody(status, message));
    return;
  }
  if (isDiskFull(error)) {
    console.error('[server] disk full:', error);
    res.status(507).json(errorBody(507, DISK_FULL_MESSAGE));
    return;
  }
  console.error('[server] unexpected error:', error);
  res.status(500).json(errorBody(500, 'Internal server error'));
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new HttpError(400, `Invalid request: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** A queue item as shown to clients: sensitive extra_data keys removed. */
function publicItem(item: QueueItem): QueueItem {
  const extra = item[3];
  if (!SENSITIVE_EXTRA_KEYS.some((k) => k in extra)) return item;
  const clean = { ...extra };
  for (const k of SENSITIVE_EXTRA_KEYS) delete clean[k];
  return [item[0], item[1], item[2], clean, item[4]];
}

function apiRouter(ctx: AppContext): Router {
  const r = express.Router();
  // Clients post JSON with any content type (or none); the origin check, not the content type, is the CSRF guard.
  const json = express.json({ limit: ctx.maxBodyBytes, type: () => true, strict: true });
  const { queue, store, registry, env, engine } = ctx;

  r.get('/prompt', (_req, res) => {
    res.json({ exec_info: { queue_remaining: queue.remaining } });
  });

  r.post('/prompt', json, async (req, res) => {
    const body = parse(promptBodySchema, req.body);
    if (body.prompt === undefined) {
      res.status(400).json({ error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} });
      return;
    }
    if (queue.isFull()) throw queueFull(res, queue.pendingCount);
    const result = await validatePrompt(body.prompt, registry, env, body.partial_execution_targets ? { partialExecutionTargets: body.partial_execution_targets } : undefined);
    if (!result.ok) {
      res.status(400).json({ error: result.error, node_errors: result.nodeErrors });
      return;
    }
    // Measured on the validated prompt: plain nodes with constants and links, never nested deeply enough to overflow.
    const promptBytes = Buffer.byteLength(JSON.stringify(result.prompt));
    const overLimit =
      checkPromptSize(promptBytes, ctx.limits) ?? checkTextLengths(result.prompt, ctx.limits) ?? (await checkMemoryBudget(result.prompt, registry, env, ctx.limits));
    if (overLimit) {
      res.status(400).json(overLimit);
      return;
    }
    // Checked again: other requests may have filled the queue while this one validated.
    if (queue.isFull()) throw queueFull(res, queue.pendingCount);
    const promptId = body.prompt_id ?? randomUUID();
    if (body.prompt_id !== undefined && store.hasPrompt(promptId)) {
      throw new HttpError(400, `prompt_id '${promptId}' is already in the queue or history`);
    }
    const number = body.number ?? queue.nextNumber(body.front ?? false);
    const extraData: Record<string, unknown> = { ...body.extra_data, create_time: Date.now() };
    if (body.client_id !== undefined) extraData.client_id = body.client_id;
    for (const k of SENSITIVE_EXTRA_KEYS) if (k in body) extraData[k] = (body as Record<string, unknown>)[k];
    const storageFull = queueStorageFull(store.queuedBytes(), promptBytes + Buffer.byteLength(JSON.stringify(extraData)), ctx.limits);
    if (storageFull) {
      res.setHeader('Retry-After', '1');
      throw new HttpError(429, storageFull);
    }
    // The prompt starts once this answer is out (or the connection is gone), as in ComfyUI: see PromptQueue.submit.
    const answered = new Promise<void>((resolve) => res.once('close', () => resolve()));
    try {
      await queue.submit([number, promptId, result.prompt, extraData, result.outputs], body.client_id ?? null, answered);
    } catch (error) {
      // Two requests raced with the same client-chosen prompt_id: the second one's insert hit the unique key.
      if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new HttpError(400, `prompt_id '${promptId}' is already in the queue or history`);
      // Not recorded, so not accepted: the client is told, nothing is half-queued.
      if (isDiskFull(error)) throw new HttpError(507, DISK_FULL_MESSAGE);
      throw error;
    }
    res.json({ prompt_id: promptId, number, node_errors: result.nodeErrors });
  });

  r.get('/queue', (_req, res) => {
    const { running, pending } = queue.snapshot();
    const workers = engine.workers();
    res.json({ queue_running: running.map(publicItem), queue_pending: pending.map(publicItem), ...(workers ? { workers } : {}) });
  });

  r.post('/queue', json, (req, res) => {
    const body = parse(clearDeleteSchema, req.body);
    if (body.clear) queue.clearPending();
    if (body.delete) queue.deletePending(body.delete);
    res.status(200).end();
  });

  r.get('/history', (req, res) => {
    const q = parse(historyQuerySchema, req.query);
    sendHistory(res, store.history(q.max_items, q.offset));
  });

  r.get('/history/:id', (req, res) => {
    const id = String(req.params.id);
    const row = store.historyEntry(id);
    res.json(row ? { [id]: { ...row, prompt: publicItem(row.prompt) } } : {});
  });

  r.post('/history', json, (req, res) => {
    const body = parse(clearDeleteSchema, req.body);
    if (body.clear) store.clearHistory();
    if (body.delete) store.deleteHistory(body.delete);
    res.status(200).end();
  });

  r.get('/view', (req, res) => serveView(req, res, env));

  r.post('/upload/image', (req, res) => handleUpload(req, res, env, { maxUploadBytes: ctx.maxUploadBytes }));

  r.post('/upload/mask', (req, res) => handleMaskUpload(req, res, env, ctx.maxUploadBytes));

  r.use(userRoutes({ store: ctx.users, maxBodyBytes: ctx.maxBodyBytes }));
  r.use(modelRoutes(modelRootsOf(env)));
  r.use(frontendRoutes(ctx.workflowsDir));
  r.use('/internal', internalRoutes({ logs: ctx.logs, modelsDir: modelRootsOf(env), dirs: env, send: ctx.sendToClient, maxBodyBytes: ctx.maxBodyBytes }));

  r.get('/object_info', (_req, res) => {
    res.json(registry.objectInfo(env));
  });

  r.get('/object_info/:nodeClass', (req, res) => {
    const def = registry.get(String(req.params.nodeClass));
    res.json(def ? { [def.name]: registry.objectInfoFor(def, env) } : {});
  });

  r.post('/interrupt', json, (req, res) => {
    const body = parse(interruptSchema, req.body);
    queue.interrupt(body.prompt_id);
    res.status(200).end();
  });

  r.post('/free', json, (req, res) => {
    const body = parse(freeSchema, req.body);
    // Like ComfyUI, answer at once: the worker drops its cache when it is next free, never delaying this thread.
    void engine.free(body.unload_models ?? false, body.free_memory ?? false);
    res.status(200).end();
  });

  r.get('/system_stats', (_req, res) => {
    const workers = engine.workers();
    res.json({ ...systemStats(engine.executionProviders), ...(workers ? { workers } : {}) });
  });

  r.get('/models', (_req, res) => {
    const present = existsSync(env.modelsDir)
      ? readdirSync(env.modelsDir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name)
      : [];
    res.json([...new Set([...MODEL_FOLDERS, ...present])].sort());
  });

  // ComfyUI's get_filename_list: every directory of the folder (all --models folders and extra_model_paths entries).
  // Loader folders list what the loaders can read (their combos show the same), other folders ComfyUI's extensions.
  r.get('/models/:folder', (req, res) => {
    const folder = canonicalFolder(String(req.params.folder));
    if (!folder) throw new HttpError(404, `Unknown model folder '${String(req.params.folder)}'`);
    res.json(isModelFolder(folder) ? listModelFiles(modelRootsOf(env), folder) : listModelFiles(modelRootsOf(env), folder, PT_EXTENSION_SET));
  });

  r.get('/features', (_req, res) => {
    res.json(serverFeatures(ctx.maxUploadBytes));
  });

  // The ComfyUI front end asks for these on load; we have no textual-inversion embeddings or Python extensions.
  r.get('/embeddings', (_req, res) => {
    res.json([]);
  });
  r.get('/extensions', (_req, res) => {
    res.json([]);
  });

  return r;
}

/** What /features and the WebSocket `feature_flags` answer announce. */
export function serverFeatures(maxUploadBytes: number): Record<string, unknown> {
  return { supports_preview_metadata: true, max_upload_size: maxUploadBytes };
}

function queueFull(res: Response, pending: number): HttpError {
  res.setHeader('Retry-After', '1');
  return new HttpError(429, `The queue is full (${pending} prompts pending); retry when some have run`);
}

/** Writes `{id: entry, ...}` from stored JSON text without re-parsing it, keeping insertion order even for numeric-looking ids. */
function sendHistory(res: Response, rows: [string, string][]): void {
  let body = '{';
  rows.forEach(([id, entry], i) => {
    if (i) body += ',';
    body += JSON.stringify(id) + ':' + stripSensitive(entry);
  });
  res.type('application/json').send(body + '}');
}

function stripSensitive(entryJson: string): string {
  if (!SENSITIVE_EXTRA_KEYS.some((k) => entryJson.includes(k))) return entryJson;
  const entry = JSON.parse(entryJson) as { prompt: QueueItem };
  return JSON.stringify({ ...entry, prompt: publicItem(entry.prompt) });
}
