/**
 * `uso-studio serve`: starts the server for a person at a terminal, prints where it listens, and shuts down cleanly on
 * SIGINT/SIGTERM (interrupting the running prompt and recording it in history).
 */
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateDemoModels } from '@uso-studio/runtime';
import { defaultDataDir, prepareDataDir } from './data-dir.ts';
import { cacheSettingFromFlags } from './cache-setting.ts';
import { createServer } from './server.ts';
import { PREVIEW_METHODS, isPreviewMethod } from './preview-method.ts';
import type { PreviewMethod } from './preview-method.ts';
import { parseQueueUrl } from './remote/redis-connection.ts';
import type { RunningServer, ServerOptions } from './server.ts';

export type StartServerOptions = ServerOptions & {
  /** Install SIGINT/SIGTERM handlers that close the server; default true. */
  handleSignals?: boolean;
  /** Where the "listening" line goes; default stdout. */
  print?: (line: string) => void;
};

/**
 * Starts the server for the CLI. Rejects with UnsafeListenError (a message naming --auth-token) when asked to listen
 * beyond loopback without a token.
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const dirs = prepareDataDir(options.dataDir ?? defaultDataDir());
  await ensureDemoModels(dirs.modelsDir, dirs.inputDir, print);
  const server = await createServer({ ...options, dataDir: dirs.root });
  print(`USO Studio listening on ${server.url} (data: ${server.dirs.root})`);
  if (options.handleSignals ?? true) {
    const stop = (signal: string) => {
      print(`${signal}: shutting down`);
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  }
  return server;
}

/**
 * Parses `serve` flags (ComfyUI's names): --listen, --port, --data, --auth-token, --auth-token-file, plus
 * --extra-packs (comma-separated), --max-queue, --max-upload-mb, --requeue-interrupted, --reset-queue, --allowed-origins (comma-separated
 * scheme://host:port origins allowed to make state-changing requests, e.g. the editor's dev server).
 */
export function parseServeArgs(argv: readonly string[]): ServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      listen: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      models: { type: 'string', multiple: true },
      'extra-model-paths': { type: 'string' },
      'auth-token': { type: 'string' },
      'auth-token-file': { type: 'string' },
      'extra-packs': { type: 'string' },
      'max-queue': { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'requeue-interrupted': { type: 'boolean' },
      'reset-queue': { type: 'boolean' },
      'max-memory-mb': { type: 'string' },
      'max-text-chars': { type: 'string' },
      'max-prompt-mb': { type: 'string' },
      'max-queue-mb': { type: 'string' },
      'max-image-megapixels': { type: 'string' },
      'execution-provider': { type: 'string' },
      'cache-lru': { type: 'string' },
      'cache-ram-mb': { type: 'string' },
      'allowed-origins': { type: 'string' },
      'multi-user': { type: 'boolean' },
      'preview-method': { type: 'string' },
      queue: { type: 'string' },
      'public-url': { type: 'string' },
      'max-stalls': { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got '${v}'`);
    return n;
  };
  const port = int('port', values.port, 0, 65535);
  const maxQueue = int('max-queue', values['max-queue'], 1, 10_000_000);
  const maxUploadMb = int('max-upload-mb', values['max-upload-mb'], 1, 100_000);
  const mib = (name: string, max: number) => {
    const n = int(name, values[name as keyof typeof values] as string | undefined, 1, max);
    return n === undefined ? undefined : n * 1024 * 1024;
  };
  const limits = {
    ...(values['max-memory-mb'] !== undefined ? { maxMemoryBytes: mib('max-memory-mb', 100_000_000)! } : {}),
    ...(values['max-text-chars'] !== undefined ? { maxTextChars: int('max-text-chars', values['max-text-chars'], 1, 1_000_000_000)! } : {}),
    ...(values['max-prompt-mb'] !== undefined ? { maxPromptBytes: mib('max-prompt-mb', 100_000)! } : {}),
    ...(values['max-queue-mb'] !== undefined ? { maxQueueBytes: mib('max-queue-mb', 100_000_000)! } : {}),
  };
  const maxImageMegapixels = int('max-image-megapixels', values['max-image-megapixels'], 1, 100_000);
  const cache = cacheSettingFromFlags(int('cache-lru', values['cache-lru'], 1, 10_000_000), int('cache-ram-mb', values['cache-ram-mb'], 1, 10_000_000));
  return {
    ...(values.listen !== undefined ? { listen: values.listen } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.data !== undefined ? { dataDir: values.data } : {}),
    ...(values.models?.length ? { modelDirs: values.models } : {}),
    ...(values['extra-model-paths'] !== undefined ? { extraModelPathsFile: values['extra-model-paths'] } : {}),
    ...(values['auth-token'] !== undefined ? { authToken: values['auth-token'] } : {}),
    ...(values['auth-token-file'] !== undefined ? { authTokenFile: values['auth-token-file'] } : {}),
    ...(values['extra-packs'] ? { extraPacks: values['extra-packs'].split(',').filter(Boolean) } : {}),
    ...(maxQueue !== undefined ? { maxQueue } : {}),
    ...(maxUploadMb !== undefined ? { maxUploadBytes: maxUploadMb * 1024 * 1024 } : {}),
    ...(values['requeue-interrupted'] ? { requeueInterrupted: true } : {}),
    ...(values['reset-queue'] ? { resetQueue: true } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
    ...(maxImageMegapixels !== undefined ? { maxImagePixels: maxImageMegapixels * 1_000_000 } : {}),
    ...(cache ? { cache } : {}),
    ...(values['execution-provider'] !== undefined ? { executionProvider: parseExecutionProvider(values['execution-provider']) } : {}),
    ...(values['multi-user'] ? { multiUser: true } : {}),
    ...(values['preview-method'] !== undefined ? { previewMethod: parsePreviewMethod(values['preview-method']) } : {}),
    ...(values.queue !== undefined ? { queue: parseQueueUrl(values.queue).url } : {}),
    ...(values['public-url'] !== undefined ? { publicUrl: values['public-url'].replace(/\/+$/, '') } : {}),
    ...(values['max-stalls'] !== undefined ? { remote: { maxStalls: int('max-stalls', values['max-stalls'], 0, 100)! } } : {}),
    ...(values['allowed-origins'] ? { allowedOrigins: values['allowed-origins'].split(',').filter(Boolean) } : {}),
  };
}

/**
 * Writes the demo model set (and its input pictures) when the models folder holds no file at all, so a bare machine
 * produces pictures at once; says so through `print`. Returns the files written.
 */
export async function ensureDemoModels(modelsDir: string, inputDir: string, print: (line: string) => void): Promise<string[]> {
  const empty = readdirSync(modelsDir, { recursive: true, withFileTypes: true }).every((entry) => !entry.isFile());
  if (!empty) return [];
  const { written } = await generateDemoModels(modelsDir, inputDir);
  print(`models/ was empty: wrote the demo model set (${written.length} files, no learned weights) to ${modelsDir}`);
  return written;
}

/** ComfyUI's --preview-method values. */
function parsePreviewMethod(value: string): PreviewMethod {
  if (!isPreviewMethod(value)) throw new Error(`--preview-method must be one of ${PREVIEW_METHODS.join(', ')}, got '${value}'`);
  return value;
}

const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;

/** Checks an --execution-provider value (serve and run share it). */
export function parseExecutionProvider(value: string): (typeof EXECUTION_PROVIDERS)[number] {
  const found = EXECUTION_PROVIDERS.find((p) => p === value);
  if (!found) throw new Error(`--execution-provider must be one of ${EXECUTION_PROVIDERS.join(', ')}, got '${value}'`);
  return found;
}
