/**
 * Creates and starts the whole server: data directory, SQLite store, node registry, engine worker, prompt queue,
 * HTTP routes and the WebSocket hub, all on one port.
 */
import { hostModelSearchPaths } from '@uso-studio/nodes-comfy';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, serverFeatures } from './app.ts';
import { defaultDataDir, prepareDataDir } from './data-dir.ts';
import type { DataDirs } from './data-dir.ts';
import { EngineHost } from './engine-host.ts';
import type { Engine } from './engine.ts';
import { RemoteEngine } from './remote/remote-engine.ts';
import type { RemoteEngineOptions } from './remote/remote-engine.ts';
import { TRANSFER_PATH, TransferTokens, transferRouter } from './remote/transfer-routes.ts';
import { DEFAULT_PACKS, loadRegistry } from './packs.ts';
import { defaultPromptLimits, type PromptLimits } from './prompt-limits.ts';
import { PromptQueue } from './prompt-queue.ts';
import { moveQueueDatabaseAside } from './queue-database.ts';
import { Security, isLoopbackAddress } from './security.ts';
import { Store } from './store.ts';
import { WsHub } from './ws-hub.ts';
import { LogBuffer } from './routes/log-buffer.ts';
import type { PreviewMethod } from './preview-method.ts';
import { UserStore } from './routes/user-store.ts';
import type { CacheSetting } from './worker-protocol.ts';

export interface ServerOptions {
  /** Address to bind; default 127.0.0.1. Anything but loopback needs an auth token. */
  listen?: string;
  /** Port; default 8188, 0 picks a free one. */
  port?: number;
  /** Data directory; default `defaultDataDir()` ($USO_STUDIO_DATA or ~/.local/share/uso-studio). */
  dataDir?: string;
  /** More models folders in ComfyUI's layout, searched after the data directory's models/ (`--models DIR`). */
  modelDirs?: readonly string[];
  /** A ComfyUI extra_model_paths.yaml whose folders are searched in place (`--extra-model-paths FILE`). */
  extraModelPathsFile?: string;
  /** Bearer token every request must carry. */
  authToken?: string;
  /** File holding the token (trimmed); used when `authToken` is not given. */
  authTokenFile?: string;
  /** Node pack module specifiers; default DEFAULT_PACKS. */
  packs?: readonly string[];
  /** More pack specifiers (package names or absolute paths), e.g. nodes/testing for tests. */
  extraPacks?: readonly string[];
  /** Upload size limit in bytes; default 100 MB. */
  maxUploadBytes?: number;
  /** JSON body size limit in bytes; default 20 MB (UI workflows ride along in extra_data). */
  maxBodyBytes?: number;
  /** Prompt limits (memory budget, text length, prompt JSON size, queue storage); defaults in prompt-limits.ts. */
  limits?: Partial<PromptLimits>;
  /** Largest decoded image (width × height) uploads and LoadImage accept; default 8192². */
  maxImagePixels?: number;
  /** Pending prompts limit; default 10,000. POST /prompt answers 429 beyond it. */
  maxQueue?: number;
  /** History entries kept; default 10,000 (oldest dropped). */
  maxHistory?: number;
  /** Move the queue database aside (kept as `<file>.corrupt-<time>`) and start with an empty queue and history. */
  resetQueue?: boolean;
  /** Re-queue a prompt that was running when the server died instead of recording it failed. */
  requeueInterrupted?: boolean;
  /**
   * Run prompts on remote workers through BullMQ on this Redis (`redis://[[user]:password@]host:port[/db]`) instead of
   * the in-process worker thread. SQLite stays the record of the queue and history.
   */
  queue?: string;
  /** With `queue`: the URL workers use to reach this server for input and output files (default: the listen URL). */
  publicUrl?: string;
  /** With `queue`: timing and naming of the remote protocol (tests shorten the heartbeat and the job lock). */
  remote?: Pick<RemoteEngineOptions, 'prefix' | 'heartbeatMs' | 'lockMs' | 'stalledIntervalMs' | 'maxStalls' | 'routing'>;
  /** How the engine keeps results between prompts (default: the last prompt's, as ComfyUI does). */
  cache?: CacheSetting;
  /** Accelerator for model sessions: cpu (default), cuda or webgpu; a provider that fails falls back to the CPU. */
  executionProvider?: 'cpu' | 'cuda' | 'webgpu';
  /** Accept prompts but do not start running them (benchmarks, maintenance); `server.queue.resume()` starts. */
  executionPaused?: boolean;
  /** The editor's static build; default packages/editor/dist; false to serve none. */
  editorDir?: string | false;
  /** Extra origins allowed to make state-changing requests (e.g. the editor's dev server). */
  allowedOrigins?: readonly string[];
  /** Diagnostic log lines; default console.error. They are also kept for /internal/logs. */
  log?: (message: string) => void;
  /** ComfyUI's --multi-user: the `comfy-user` header picks a user from `<data>/user/users.json`. */
  multiUser?: boolean;
  /** ComfyUI's --preview-method: step previews for prompts that do not ask (default none, as ComfyUI). */
  previewMethod?: PreviewMethod;
  /** Folder served by /workflow_templates; default the repository's workflows/; false for none. */
  workflowsDir?: string | false;
}

export interface RunningServer {
  /** `http://host:port` (loopback hosts as given; IPv6 in brackets). */
  url: string;
  port: number;
  host: string;
  dirs: DataDirs;
  queue: PromptQueue;
  engine: Engine;
  /** Stops accepting, interrupts the running prompt, waits for its history write, closes SQLite. */
  close(): Promise<void>;
}

/** Raised when the options would expose an unauthenticated server to the network. */
export class UnsafeListenError extends Error {
  override name = 'UnsafeListenError';
}

export const DEFAULT_PORT = 8188;
export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
const DEFAULT_EDITOR_DIR = fileURLToPath(new URL('../../editor/dist', import.meta.url));
const DEFAULT_WORKFLOWS_DIR = fileURLToPath(new URL('../../../workflows', import.meta.url));

/** Resolves the token from `authToken` or `authTokenFile`; undefined when neither is given. */
export function resolveAuthToken(options: Pick<ServerOptions, 'authToken' | 'authTokenFile'>): string | undefined {
  if (options.authToken !== undefined) {
    if (options.authToken.trim() === '') throw new Error('--auth-token is empty');
    return options.authToken;
  }
  if (options.authTokenFile !== undefined) {
    const token = readFileSync(options.authTokenFile, 'utf8').trim();
    if (token === '') throw new Error(`The auth token file ${options.authTokenFile} is empty`);
    return token;
  }
  return undefined;
}

/**
 * Starts a server and resolves once it listens.
 *
 * @example
 * const server = await createServer({ port: 0, dataDir: '/tmp/uso' });
 * console.log(server.url); // http://127.0.0.1:40123
 * await server.close();
 */
export async function createServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.listen ?? '127.0.0.1';
  const token = resolveAuthToken(options);
  const loopback = isLoopbackAddress(host);
  if (!loopback && token === undefined) {
    throw new UnsafeListenError(
      `Refusing to listen on ${host} without an auth token: anyone who can reach this address could run prompts and read ` +
        'your files. Pass --auth-token <token> or --auth-token-file <path>, or listen on 127.0.0.1.',
    );
  }
  const logs = new LogBuffer();
  const printLog = options.log ?? ((m: string) => console.error(`[uso-studio] ${m}`));
  const log = (m: string) => {
    logs.add(m);
    printLog(m);
  };
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const dirs = prepareDataDir(options.dataDir ?? defaultDataDir());
  const modelSearchPaths = hostModelSearchPaths(dirs.modelsDir, {
    ...(options.modelDirs ? { modelDirs: options.modelDirs } : {}),
    ...(options.extraModelPathsFile ? { extraModelPathsFile: options.extraModelPathsFile } : {}),
    report: log,
  });
  const limits = defaultPromptLimits(options.limits);
  const env = { inputDir: dirs.inputDir, outputDir: dirs.outputDir, tempDir: dirs.tempDir, modelsDir: dirs.modelsDir, modelSearchPaths, cacheDir: dirs.cacheDir,
    ...(options.executionProvider ? { executionProvider: options.executionProvider } : {}),
    ...(options.maxImagePixels !== undefined ? { maxImagePixels: options.maxImagePixels } : {}),
    // The engine splits VAE work under the same budget validation assumed (memory-estimate.ts).
    memoryBudgetBytes: limits.maxMemoryBytes,
  };
  const packs = [...(options.packs ?? DEFAULT_PACKS), ...(options.extraPacks ?? [])];

  const registry = await loadRegistry(packs);
  if (options.resetQueue) {
    const moved = moveQueueDatabaseAside(dirs.databaseFile);
    if (moved) log(`--reset-queue: moved the queue database to ${moved}; starting with an empty queue and history`);
  }
  const store = new Store(dirs.databaseFile, options.maxHistory !== undefined ? { maxHistory: options.maxHistory } : {});
  let serverUrl = options.publicUrl;
  const tokens = options.queue ? new TransferTokens(join(dirs.root, 'remote-transfer.secret')) : undefined;
  const engine: Engine = options.queue
    ? new RemoteEngine({ queue: options.queue, registry, tokens: tokens!, serverUrl: () => serverUrl!, log, ...options.remote })
    : new EngineHost({ packs, env, log, ...(options.cache ? { cache: options.cache } : {}) });
  const security = new Security({ ...(token !== undefined ? { token } : {}), loopback, ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}) });
  let queue: PromptQueue | undefined;
  const hub = new WsHub({
    ...(token !== undefined ? { checkToken: (t: string) => security.checkToken(t) } : {}),
    onConnect: (client) => queue?.onClientConnected(client),
    features: serverFeatures(maxUploadBytes),
  });
  queue = new PromptQueue({
    store,
    engine,
    hub,
    maxQueue: options.maxQueue ?? 10_000,
    ...(options.requeueInterrupted ? { requeueInterrupted: true } : {}),
    ...(options.executionPaused ? { paused: true } : {}),
    ...(options.previewMethod ? { previewMethod: options.previewMethod } : {}),
    log,
  });
  const editorDir = options.editorDir === false ? undefined : (options.editorDir ?? DEFAULT_EDITOR_DIR);
  const app = createApp({
    env,
    registry,
    store,
    queue,
    engine,
    security,
    maxUploadBytes,
    maxBodyBytes: options.maxBodyBytes ?? 20 * 1024 * 1024,
    limits,
    ...(editorDir ? { editorDir } : {}),
    ...(tokens ? { beforeAuth: { path: TRANSFER_PATH, router: transferRouter(env, tokens, maxUploadBytes) } } : {}),
    users: new UserStore({ root: join(dirs.root, 'user'), ...(options.multiUser ? { multiUser: true } : {}) }),
    logs,
    sendToClient: (clientId, type, data) => hub.send(clientId, type, data),
    ...(options.workflowsDir !== false ? { workflowsDir: options.workflowsDir ?? DEFAULT_WORKFLOWS_DIR } : {}),
  });

  const http = createHttpServer(app);
  http.headersTimeout = 30_000;
  http.requestTimeout = 10 * 60_000;
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws' && url.pathname !== '/api/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // A WebSocket upgrade is a cross-site request vector (CSWSH): origin-checked like a POST.
    const refused = security.refusal(req, true);
    if (refused) {
      socket.end(`HTTP/1.1 ${refused.status} Forbidden\r\nConnection: close\r\n\r\n`);
      return;
    }
    if (security.hasToken) {
      const found = security.tokenOf(req, url);
      // A wrong token in a header or cookie is refused now; no token at all may still come in the first message.
      if (found && !found.fromQuery && !security.checkToken(found.token)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      if (found && !found.fromQuery) url.searchParams.set('token', found.token);
    }
    hub.handleUpgrade(req, socket, head, url);
  });

  // Start the worker while binding: the first prompt should not wait for pack loading.
  const workerStarted = engine.start().catch((e: unknown) => log(`engine worker failed to start: ${e instanceof Error ? e.message : String(e)}`));
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? DEFAULT_PORT, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await engine.close(1000);
    store.close();
    throw error;
  }
  await workerStarted;
  const address = http.address() as AddressInfo;
  security.bindPort(address.port);
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  serverUrl ??= `http://${urlHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    host: address.address,
    dirs,
    queue,
    engine,
    close: () =>
      (closing ??= (async () => {
        const q = queue!;
        q.pause();
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        hub.close();
        http.closeAllConnections();
        // The engine gets a grace period to end the interrupted run; the queue then writes its history entry.
        await Promise.all([q.stop(), engine.close()]);
        store.close();
        await httpClosed;
      })()),
  };
}
