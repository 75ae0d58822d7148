/**
 * `uso-studio worker`: runs prompts for a server on another machine. It takes jobs from the BullMQ queue `prompts` in
 * BullMQ's manual mode, one `getNextJob` per `take` the server sends it, so the server decides which worker runs
 * what (cache affinity); it keeps each job's lock alive while the prompt runs, and runs BullMQ's stalled-job checker,
 * which hands a job whose worker died back to the queue (or fails it after too many stalls). Prompts run in
 * EngineHost worker threads, exactly as on the server, so this process stays free to renew locks, relay events and
 * act on interrupts while inference blocks.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { Worker as BullWorker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionEvent, HostEnvironment, NodeRegistry } from '@uso-studio/core';
import { cacheSettingFromFlags } from '../cache-setting.ts';
import { parseExecutionProvider } from '../start.ts';
import { defaultDataDir, prepareDataDir } from '../data-dir.ts';
import { EngineHost } from '../engine-host.ts';
import { DEFAULT_PACKS, loadRegistry } from '../packs.ts';
import type { CacheSetting, RunResult } from '../worker-protocol.ts';
import { connectRedis, parseQueueUrl } from './redis-connection.ts';
import { PROMPT_QUEUE, decodeMessage, encodeMessage, remoteKeys } from './remote-protocol.ts';
import type { ControlMessage, RemoteJobData, RemoteKeys, WorkerAnnouncement, WorkerMessage } from './remote-protocol.ts';
import { listModelFiles, missingModelFiles } from './prompt-needs.ts';
import { fetchInputs, isFileRef, localFile, sendFile } from './transfer-client.ts';
import type { TransferTarget } from './transfer-client.ts';

export interface RemoteWorkerOptions {
  /** `redis://[[user]:password@]host:port[/db]`. */
  queue: string;
  /** Shown in /system_stats and /queue; default `<hostname>-<pid>`. Must be unique among live workers. */
  name?: string;
  dataDir?: string;
  modelsDir?: string;
  /** Prompts run at once, each in its own engine thread; default 1. */
  concurrency?: number;
  executionProvider?: HostEnvironment['executionProvider'];
  packs?: readonly string[];
  extraPacks?: readonly string[];
  cache?: CacheSetting;
  /** Write outputs straight into this folder (the server's output/ seen through a shared mount) instead of uploading. */
  sharedOutput?: string;
  /** Read input images from this folder (the server's input/ through a shared mount) instead of downloading. */
  sharedInput?: string;
  /** Key prefix in Redis; must match the server's. Default `uso`. */
  prefix?: string;
  heartbeatMs?: number;
  /** BullMQ job lock: a job whose worker stops renewing it for this long counts as stalled. Default 30 s. */
  lockMs?: number;
  /** How often the stalled-job checker runs; default lockMs / 2. */
  stalledIntervalMs?: number;
  /** How many times a stalled prompt goes back to the queue before it is failed; default 1 (two attempts in all). */
  maxStalls?: number;
  log?: (line: string) => void;
}

interface Slot {
  host: EngineHost;
  promptId?: string;
}

export const DEFAULT_PREFIX = 'uso';
export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_LOCK_MS = 30_000;

export class RemoteWorker {
  readonly name: string;
  readonly #o: RemoteWorkerOptions;
  readonly #keys: RemoteKeys;
  readonly #env: Omit<HostEnvironment, 'services'>;
  readonly #registry: NodeRegistry;
  readonly #slots: Slot[];
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #bull: BullWorker<RemoteJobData, RunResult>;
  readonly #bullConnection: Redis;
  readonly #log: (line: string) => void;
  readonly #lockMs: number;
  readonly #heartbeatMs: number;
  #modelFiles: string[];
  readonly #modelsLoaded = new Set<string>();
  readonly #jobs = new Map<string, { abort: AbortController; interrupted: boolean }>();
  /** Output files already sent, by local reference, so a cached node's `executed` does not send its file twice. */
  readonly #sent = new Map<string, string>();
  #takes: Promise<void> = Promise.resolve();
  #heartbeat: NodeJS.Timeout | undefined;
  #closing = false;

  private constructor(o: RemoteWorkerOptions, env: Omit<HostEnvironment, 'services'>, registry: NodeRegistry, packs: string[]) {
    this.#o = o;
    this.name = o.name ?? `${hostname()}-${process.pid}`;
    this.#keys = remoteKeys(o.prefix ?? DEFAULT_PREFIX);
    this.#env = env;
    this.#registry = registry;
    this.#log = o.log ?? ((line) => console.error(`[worker ${this.name}] ${line}`));
    this.#lockMs = o.lockMs ?? DEFAULT_LOCK_MS;
    this.#heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const log = this.#log;
    this.#slots = Array.from({ length: Math.max(1, o.concurrency ?? 1) }, () => ({
      host: new EngineHost({ packs, env, log, ...(o.cache ? { cache: o.cache } : {}) }),
    }));
    const url = parseQueueUrl(o.queue);
    this.#redis = connectRedis(url, `uso-worker-${this.name}`, this.#log);
    this.#sub = connectRedis(url, `uso-worker-${this.name}-control`, this.#log);
    // BullMQ never closes a connection it was given: ended in close().
    this.#bullConnection = connectRedis(url, `uso-worker-${this.name}-bullmq`, this.#log);
    this.#bull = new BullWorker<RemoteJobData, RunResult>(PROMPT_QUEUE, null, {
      connection: this.#bullConnection,
      prefix: this.#keys.bullPrefix,
      autorun: false,
      lockDuration: this.#lockMs,
      stalledInterval: o.stalledIntervalMs ?? Math.max(100, Math.floor(this.#lockMs / 2)),
      maxStalledCount: o.maxStalls ?? 1,
      name: this.name,
    });
    this.#bull.on('error', (e) => this.#log(`queue error: ${e.message}`));
    this.#modelFiles = listModelFiles(env.modelsDir);
  }

  /** Loads packs, starts the engine threads, connects and announces itself. */
  static async start(o: RemoteWorkerOptions): Promise<RemoteWorker> {
    const dirs = prepareDataDir(o.dataDir ?? defaultDataDir());
    const env = {
      inputDir: o.sharedInput ?? dirs.inputDir,
      outputDir: o.sharedOutput ?? dirs.outputDir,
      tempDir: dirs.tempDir,
      modelsDir: o.modelsDir ?? dirs.modelsDir,
      cacheDir: dirs.cacheDir,
      ...(o.executionProvider ? { executionProvider: o.executionProvider } : {}),
    };
    const packs = [...(o.packs ?? DEFAULT_PACKS), ...(o.extraPacks ?? [])];
    const worker = new RemoteWorker(o, env, await loadRegistry(packs), packs);
    await worker.#start();
    return worker;
  }

  async #start(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.host.start()));
    this.#sub.on('messageBuffer', (_channel: Buffer, payload: Buffer) => this.#onControl(decodeMessage<ControlMessage>(payload)));
    await this.#sub.subscribe(this.#keys.control);
    await this.#bull.startStalledCheckTimer();
    await this.#announce();
    this.#heartbeat = setInterval(() => void this.#announce().catch((e: unknown) => this.#log(`heartbeat failed: ${String(e)}`)), this.#heartbeatMs);
    await this.#publish({ type: 'hello', worker: this.name });
    this.#log(`ready: ${this.#slots.length} slot(s), ${this.#modelFiles.length} model file(s), queue ${parseQueueUrl(this.#o.queue).display}`);
  }

  /** Stops taking work; a prompt still running is interrupted and handed back to the queue for another worker. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    for (const job of this.#jobs.values()) job.abort.abort();
    for (const s of this.#slots) if (s.promptId) s.host.interrupt(s.promptId);
    await this.#takes;
    await Promise.all(this.#slots.map((s) => s.host.close()));
    try {
      await this.#redis.multi().del(this.#keys.worker(this.name)).srem(this.#keys.workers, this.name).exec();
    } catch {
      // Redis is gone: the announcement expires on its own.
    }
    await this.#bull.close(true);
    for (const r of [this.#sub, this.#redis, this.#bullConnection]) r.disconnect();
  }

  #announcement(): WorkerAnnouncement {
    const providers = [...new Set(this.#slots.flatMap((s) => s.host.executionProviders))];
    return {
      name: this.name,
      device: providers.join(','),
      executionProviders: providers,
      concurrency: this.#slots.length,
      running: this.#slots.flatMap((s) => (s.promptId ? [s.promptId] : [])),
      modelFiles: this.#modelFiles,
      modelsLoaded: [...this.#modelsLoaded].sort(),
      heartbeat: Date.now(),
      ttlMs: this.#heartbeatMs * 3,
    };
  }

  async #announce(): Promise<void> {
    if (this.#closing) return;
    const a = this.#announcement();
    await this.#redis.multi().set(this.#keys.worker(this.name), JSON.stringify(a), 'PX', a.ttlMs).sadd(this.#keys.workers, this.name).exec();
  }

  async #publish(message: WorkerMessage): Promise<void> {
    await this.#redis.publish(this.#keys.events, encodeMessage(message));
  }

  #onControl(msg: ControlMessage): void {
    switch (msg.type) {
      case 'take':
        if (msg.worker !== this.name) return;
        // One take at a time: each sees the slots the previous one filled.
        this.#takes = this.#takes.then(() => this.#take(msg.takeId)).catch((e: unknown) => this.#log(`taking a job failed: ${String(e)}`));
        return;
      case 'interrupt':
        // A prompt still fetching its inputs is not in its engine thread yet: the mark stops it before it starts.
        for (const [id, job] of this.#jobs) if (msg.promptId === undefined || msg.promptId === id) job.interrupted = true;
        for (const s of this.#slots) if (s.promptId && (msg.promptId === undefined || msg.promptId === s.promptId)) s.host.interrupt(s.promptId);
        return;
      case 'free':
        if (msg.unloadModels) this.#modelsLoaded.clear();
        for (const s of this.#slots) void s.host.free(msg.unloadModels, msg.freeMemory);
        return;
    }
  }

  async #take(takeId: string): Promise<void> {
    const slot = this.#slots.find((s) => s.promptId === undefined);
    if (!slot || this.#closing) {
      await this.#publish({ type: 'taken', worker: this.name, takeId, promptId: null });
      return;
    }
    const token = randomUUID();
    const job = await this.#bull.getNextJob(token, { block: false });
    if (!job) {
      await this.#publish({ type: 'taken', worker: this.name, takeId, promptId: null });
      return;
    }
    slot.promptId = job.data.promptId;
    await this.#publish({ type: 'taken', worker: this.name, takeId, promptId: job.data.promptId });
    void this.#process(job, token, slot).finally(() => {
      slot.promptId = undefined;
      void this.#announce().catch(() => {});
    });
  }

  async #process(job: Job<RemoteJobData, RunResult>, token: string, slot: Slot): Promise<void> {
    const data = job.data;
    const abort = new AbortController();
    this.#jobs.set(data.promptId, { abort, interrupted: false });
    // Renew the lock at a third of its life; a lost lock means BullMQ gave the job to someone else: stop at once.
    const renew = setInterval(() => {
      job.extendLock(token, this.#lockMs).then(
        (ok) => {
          if (!ok) this.#lose(slot, abort, data.promptId);
        },
        () => {
          // Redis is unreachable right now; the next renewal tries again.
        },
      );
    }, Math.max(50, Math.floor(this.#lockMs / 3)));
    try {
      const missing = missingModelFiles(data.prompt, this.#registry, { ...this.#env, services: {} });
      if (missing.length > 0) {
        await this.#refuse(job, token, missing);
        return;
      }
      let result: RunResult;
      try {
        result = await this.#run(job, slot, abort.signal);
      } catch (error) {
        if (abort.signal.aborted) throw error;
        // Inputs or outputs could not travel: the prompt fails here, with the reason, rather than on every worker.
        result = { status: 'error', outputs: {}, messages: [], error: { type: 'TransferError', message: error instanceof Error ? error.message : String(error) } };
      }
      if (abort.signal.aborted) {
        // Shutting down: hand the job back now rather than waiting for the stalled-job checker. (A lost lock: it is
        // already someone else's.)
        if (this.#closing) await job.moveToWait(token).catch(() => {});
        return;
      }
      await job.moveToCompleted(result, token, false);
      if (result.status === 'success') for (const m of data.needs.models) this.#modelsLoaded.add(m);
      await this.#publish({ type: 'finished', worker: this.name, promptId: data.promptId });
    } catch (error) {
      if (!abort.signal.aborted) this.#log(`prompt ${data.promptId}: ${error instanceof Error ? error.message : String(error)}`);
      else if (this.#closing) await job.moveToWait(token).catch(() => {});
    } finally {
      clearInterval(renew);
      this.#jobs.delete(data.promptId);
    }
  }

  #lose(slot: Slot, abort: AbortController, promptId: string): void {
    if (abort.signal.aborted) return;
    this.#log(`lost the lock on prompt ${promptId}; stopping it`);
    abort.abort();
    slot.host.interrupt(promptId);
  }

  /** Gives the job back with a note that this worker lacks files, and tells the server (which routes it elsewhere). */
  async #refuse(job: Job<RemoteJobData, RunResult>, token: string, missing: string[]): Promise<void> {
    this.#log(`refusing prompt ${job.data.promptId}: missing ${missing.join(', ')}`);
    this.#modelFiles = listModelFiles(this.#env.modelsDir);
    await job.updateData({ ...job.data, refusedBy: [...job.data.refusedBy, this.name] });
    await job.moveToWait(token);
    await this.#announce();
    await this.#publish({ type: 'refused', worker: this.name, promptId: job.data.promptId, missing });
  }

  /** Fetches inputs, runs the prompt, relays its events in order (sending output files first) and returns the result. */
  async #run(job: Job<RemoteJobData, RunResult>, slot: Slot, signal: AbortSignal): Promise<RunResult> {
    const data = job.data;
    const target: TransferTarget = { server: data.server, promptId: data.promptId, signal };
    if (!this.#o.sharedInput) await fetchInputs(data.needs.inputs, this.#env.inputDir, target);
    if (this.#jobs.get(data.promptId)?.interrupted) return { status: 'interrupted', outputs: {}, messages: [] };
    let chain: Promise<void> = Promise.resolve();
    const uis = new Map<string, Record<string, unknown>>();
    const relay = async (event: ExecutionEvent): Promise<void> => {
      if (event.type === 'executed' && event.data.output) {
        const output = await this.#sendFiles(event.data.output as Record<string, unknown>, target);
        uis.set(event.data.node, output);
        event = { ...event, data: { ...event.data, output } };
      }
      await this.#publish({ type: 'event', worker: this.name, promptId: data.promptId, event });
    };
    const result = await slot.host.run(
      { promptId: data.promptId, prompt: data.prompt, extraData: data.extraData, outputs: data.outputs, previews: data.previews },
      (event) => {
        chain = chain.then(() => relay(event));
      },
    );
    await chain;
    const outputs: RunResult['outputs'] = {};
    for (const [node, ui] of Object.entries(result.outputs)) outputs[node] = uis.get(node) ?? (await this.#sendFiles(ui, target));
    return { ...result, outputs };
  }

  /** Sends the files a UI output names (once per file: a cached node's `executed` names the same file again). */
  async #sendFiles(ui: Record<string, unknown>, target: TransferTarget): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(ui)) {
      if (!Array.isArray(value)) {
        out[key] = value;
        continue;
      }
      const items: unknown[] = [];
      for (const item of value) {
        // With a shared output folder, output files are already where the server looks; temp files still travel.
        if (!isFileRef(item) || (this.#o.sharedOutput !== undefined && item.type === 'output')) {
          items.push(item);
          continue;
        }
        // Keyed by the file's identity too: a node that writes the same name again has made a new file.
        const stat = statSync(localFile(item, this.#env));
        const key = `${item.type}/${item.subfolder ?? ''}/${item.filename}:${stat.size}:${stat.mtimeMs}`;
        let kept = this.#sent.get(key);
        if (kept === undefined) {
          kept = (await sendFile(item, this.#env, target)).filename;
          this.#sent.set(key, kept);
        }
        items.push({ ...item, filename: kept });
      }
      out[key] = items;
    }
    return out;
  }
}

/** Parses the `worker` command's flags. */
export function workerOptionsFromFlags(flags: Record<string, string | boolean | undefined>): RemoteWorkerOptions {
  const str = (k: string) => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
  const int = (k: string, min = 1) => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be a whole number of at least ${min}, not '${v}'`);
    return n;
  };
  const queue = str('queue');
  if (!queue) throw new Error('worker needs --queue redis://HOST:PORT[/DB]');
  parseQueueUrl(queue);
  const cache = cacheSettingFromFlags(int('cache-lru'), int('cache-ram-mb'));
  const o: RemoteWorkerOptions = { queue };
  const set = <K extends keyof RemoteWorkerOptions>(k: K, v: RemoteWorkerOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('name', str('name'));
  set('dataDir', str('data'));
  set('modelsDir', str('models'));
  set('concurrency', int('concurrency'));
  set('sharedOutput', str('shared-output'));
  set('sharedInput', str('shared-input'));
  set('cache', cache);
  set('extraPacks', str('extra-packs')?.split(',').filter(Boolean));
  set('packs', str('packs')?.split(',').filter(Boolean));
  set('prefix', str('prefix'));
  set('lockMs', int('lock-ms'));
  set('heartbeatMs', int('heartbeat-ms'));
  set('maxStalls', int('max-stalls', 0));
  const provider = str('execution-provider');
  if (provider !== undefined) o.executionProvider = parseExecutionProvider(provider);
  return o;
}
