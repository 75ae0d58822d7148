/**
 * The one onnxruntime module: every InferenceSession in the project is created, run and released here.
 *
 * - Sessions are cached by model path + options and released least-recently-used first once their estimated bytes
 *   exceed the pool's memory budget.
 * - The execution provider is chosen per session ('cpu' by default). When a requested provider cannot start (no CUDA
 *   libraries, no Vulkan driver), the session is created on the CPU instead, one log line says so, and
 *   `providersInUse()` reports what is really in use (for /system_stats).
 * - Runs on one session are serialised: ORT blocks the calling thread for a whole run anyway, and queuing keeps
 *   release() from racing an in-flight run.
 *
 * Inference blocks the JavaScript thread, so use a pool inside a worker thread. Never terminate() a worker that may
 * be inside run(): ask it to stop, await `releaseAll()`, then let it exit.
 *
 * A session created with `isolate: true` lives in a child process of its own (isolated-session.ts): its runs do not
 * block this thread, and `interruptRuns()` stops one in progress within milliseconds by killing that process.
 */

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { Tensor } from '../tensor/tensor.ts';
import { IsolatedSession } from './isolated-session.ts';
import { loadOrt, type OrtModule } from './ort.ts';
import { fromOrtTensor, toOrtTensor } from './tensor-convert.ts';

export type Provider = 'cpu' | 'cuda' | 'webgpu';

export interface SessionOptions {
  /** Execution provider to try first (default 'cpu'); falls back to 'cpu' when it cannot start. */
  readonly provider?: Provider;
  /** Threads for one operator (ORT's intra_op_num_threads); default: ORT's choice (all cores). */
  readonly intraOpNumThreads?: number;
  /**
   * Skip weight prepacking (ORT `session.disable_prepacking`). With external data this lets ORT memory-map the
   * weight file instead of copying it: session creation drops from seconds to milliseconds, at some CPU speed.
   */
  readonly disablePrepacking?: boolean;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Create the session in a child process of its own, so `interruptRuns()` can stop a run in progress (onnxruntime-node
   * cannot stop one otherwise). Costs a process, an IPC copy of inputs and outputs per run, and the session's creation
   * again after an interrupt. For graphs whose runs take seconds.
   */
  readonly isolate?: boolean;
}

/** A model to load: an .onnx path, plus the folder its external data locations are relative to when elsewhere. */
export interface ModelRef {
  readonly path: string;
  /** Folder of the external data (GraphBuilder's BuildResult.externalDataDir); null/absent: the model's folder. */
  readonly externalDataDir?: string | null;
  /** Estimated weight bytes for the memory budget; default: the .onnx file size. */
  readonly weightBytes?: number;
  /**
   * Create the session without onnxruntime's ConstantFolding and FuseFp16InitializerToFp32NodeTransformer
   * (GraphBuilder's BuildResult.castsWeights): its Casts of bf16/f16 weights then run per inference instead of
   * becoming a float32 copy of the model at creation.
   */
  readonly disableConstantFolding?: boolean;
  /** Optimisation level when the session options set none (the architecture's `sessionOptimizationLevel`). */
  readonly graphOptimizationLevel?: 'basic' | 'extended' | 'all';
}

/** A pooled session. Stays valid after eviction: the next run re-creates the session. */
export interface PooledSession {
  readonly key: string;
  readonly model: ModelRef;
  readonly options: SessionOptions;
  readonly requestedProvider: Provider;
  /** The provider really in use (differs from the requested one after a fallback). */
  readonly provider: Provider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly estimatedBytes: number;
}

export interface ProviderUse {
  readonly model: string;
  readonly requested: Provider;
  readonly actual: Provider;
  /** Why the requested provider was not used, when it was not. */
  readonly fallbackReason?: string;
}

/** A blocking call into onnxruntime, as reported to SessionPool's onNativeStart/onNativeEnd hooks. */
export type NativeCall = 'create' | 'run' | 'release';

export interface SessionPoolOptions {
  /** Estimated bytes of live sessions above which the least recently used idle ones are released. Default: no limit. */
  readonly memoryBudgetBytes?: number;
  /** Defaults merged under each acquire()'s options. */
  readonly defaults?: SessionOptions;
  /** Receives one line per notable event (provider fallback). Default: console.warn. */
  readonly log?: (line: string) => void;
}

interface Entry {
  readonly handle: PooledSession;
  /** The session in this thread, or in its own process (`isolate`). */
  readonly session: { readonly ort: OrtModule; readonly local: Ort.InferenceSession } | { readonly isolated: IsolatedSession };
  lastUsed: number;
  /** Tail of this session's run queue. */
  queue: Promise<unknown>;
  fallbackReason?: string;
}

/**
 * A cache of InferenceSessions under a memory budget.
 *
 * @example
 * const pool = new SessionPool({ memoryBudgetBytes: 8 * 2 ** 30 });
 * const s = await pool.acquire({ path: graph.path, externalDataDir: graph.externalDataDir }, { disablePrepacking: true });
 * const { velocity } = await pool.run(s, { img, img_ids, txt, txt_ids, timesteps, guidance, y });
 * await pool.releaseAll();
 */
export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private readonly budget: number;
  private readonly defaults: SessionOptions;
  private readonly log: (line: string) => void;
  private clock = 0;
  private closed = false;
  /**
   * Optional timing hook: called after each run with the milliseconds spent inside onnxruntime's own
   * `session.run` (tensor conversion excluded), so benchmarks can tell inference from the JavaScript around it.
   */
  onRunTimed: ((session: PooledSession, milliseconds: number) => void) | undefined;
  /**
   * Optional hooks around every call into onnxruntime that blocks this thread: session creation, `session.run` and
   * session release. Called on the pool's thread right before onnxruntime is entered and right after it returns or
   * throws (onNativeEnd always follows an onNativeStart that returned). A host uses them to know when the thread must
   * not be terminated (terminate() inside any of these aborts the process). An onNativeStart that throws keeps that
   * call out of onnxruntime: the acquire/run rejects with its error (a release is skipped and logged).
   */
  onNativeStart: ((call: NativeCall, model: ModelRef) => void) | undefined = undefined;
  onNativeEnd: ((call: NativeCall, model: ModelRef) => void) | undefined = undefined;

  constructor(options: SessionPoolOptions = {}) {
    this.budget = options.memoryBudgetBytes ?? Number.POSITIVE_INFINITY;
    this.defaults = options.defaults ?? {};
    this.log = options.log ?? ((line) => console.warn(line));
  }

  /** Gets (or creates) the session for a model and options. */
  async acquire(model: string | ModelRef, options: SessionOptions = {}): Promise<PooledSession> {
    return (await this.entryFor(typeof model === 'string' ? { path: model } : model, { ...this.defaults, ...options })).handle;
  }

  /**
   * Runs a session with our Tensors and returns our Tensors, queued behind any run already in flight on it.
   * `outputs` restricts which outputs are fetched (default: all).
   */
  async run(
    session: PooledSession,
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>> {
    // Chain onto the queue before any await when the session is live, so a release() called right after run()
    // is queued behind this run rather than ahead of it.
    const entry = this.entries.get(session.key) ?? (await this.entryFor(session.model, session.options));
    const live = entry.session;
    const task = entry.queue.then(async () => {
      entry.lastUsed = ++this.clock;
      if ('isolated' in live) {
        // Another process runs it: this thread is not blocked, so no native hooks.
        const started = performance.now();
        try {
          const out = await live.isolated.run(feeds, outputs);
          this.onRunTimed?.(entry.handle, performance.now() - started);
          return out;
        } catch (error) {
          // Its process ended (out-of-memory kill, crash): forget it, so the handle's next run starts a new one.
          if (!live.isolated.alive && this.entries.get(entry.handle.key) === entry) this.entries.delete(entry.handle.key);
          throw error;
        }
      }
      const ort = live.ort;
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(ort, t);
      const result = await this.native('run', entry.handle.model, async () => {
        const started = this.onRunTimed ? performance.now() : 0;
        const r = outputs ? await live.local.run(ortFeeds, [...outputs]) : await live.local.run(ortFeeds);
        this.onRunTimed?.(entry.handle, performance.now() - started);
        return r;
      });
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(result)) out[name] = fromOrtTensor(value, name);
      return out;
    });
    entry.queue = task.catch(() => undefined);
    return task;
  }

  /** Releases one model's session(s) after their queued runs finish. */
  async release(model: string | ModelRef | PooledSession): Promise<void> {
    const path = typeof model === 'string' ? model : 'key' in model ? model.model.path : model.path;
    const real = safeRealpath(path);
    const waits: Promise<void>[] = [];
    for (const [key, entry] of this.entries) {
      if (safeRealpath(entry.handle.model.path) === real) waits.push(this.drop(key, entry));
    }
    await Promise.all(waits);
  }

  /**
   * Stops every isolated session's run in progress now, by killing its process (its queued runs reject with
   * RunInterruptedError, an 'AbortError'), and forgets those sessions: the next run of their handles creates them
   * again. Runs inside this thread cannot be stopped and go on. Returns how many runs were stopped.
   */
  interruptRuns(): number {
    let stopped = 0;
    for (const [key, entry] of this.entries) {
      if (!('isolated' in entry.session) || !entry.session.isolated.running) continue;
      this.entries.delete(key);
      if (entry.session.isolated.kill()) stopped++;
    }
    return stopped;
  }

  /** Releases every session after its queued runs finish. Call before a worker exits. */
  async releaseAll(): Promise<void> {
    await Promise.allSettled(this.pending.values());
    await Promise.all([...this.entries].map(([key, entry]) => this.drop(key, entry)));
  }

  /** Releases everything and refuses further acquires. */
  async close(): Promise<void> {
    this.closed = true;
    await this.releaseAll();
  }

  /** The provider requested and actually used by every live session. */
  providersInUse(): ProviderUse[] {
    return [...this.entries.values()].map((e) => ({
      model: e.handle.model.path,
      requested: e.handle.requestedProvider,
      actual: e.handle.provider,
      ...(e.fallbackReason !== undefined ? { fallbackReason: e.fallbackReason } : {}),
    }));
  }

  /** Live sessions and their estimated bytes. */
  stats(): { sessions: number; estimatedBytes: number; budgetBytes: number } {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += e.handle.estimatedBytes;
    return { sessions: this.entries.size, estimatedBytes: bytes, budgetBytes: this.budget };
  }

  /** Runs one blocking onnxruntime call between the onNativeStart/onNativeEnd hooks. */
  private async native<T>(call: NativeCall, model: ModelRef, fn: () => Promise<T>): Promise<T> {
    this.onNativeStart?.(call, model);
    try {
      return await fn();
    } finally {
      this.onNativeEnd?.(call, model);
    }
  }

  private async entryFor(model: ModelRef, options: SessionOptions): Promise<Entry> {
    if (this.closed) throw new Error('SessionPool is closed');
    const key = sessionKey(model, options);
    const existing = this.entries.get(key);
    if (existing) {
      existing.lastUsed = ++this.clock;
      return existing;
    }
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.create(key, model, options).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async create(key: string, model: ModelRef, options: SessionOptions): Promise<Entry> {
    if (options.isolate) {
      const isolated = await IsolatedSession.open(model, { ...options, isolate: false }, this.log);
      return this.add(key, model, options, { isolated }, isolated.inputNames, isolated.outputNames, isolated.provider, isolated.fallbackReason);
    }
    const ort = await loadOrt();
    const requested = options.provider ?? 'cpu';
    let provider = requested;
    let fallbackReason: string | undefined;
    let session: Ort.InferenceSession;
    try {
      session = await this.native('create', model, () => createSession(ort, model, options, requested));
    } catch (error) {
      if (requested === 'cpu') throw new Error(`Cannot load model ${model.path}: ${firstLine(error)}`);
      fallbackReason = firstLine(error);
      this.log(`[session] ${requested} provider unavailable for ${model.path} (${fallbackReason}); using cpu`);
      provider = 'cpu';
      try {
        session = await this.native('create', model, () => createSession(ort, model, options, 'cpu'));
      } catch (cpuError) {
        throw new Error(`Cannot load model ${model.path}: ${firstLine(cpuError)}`);
      }
    }
    return this.add(key, model, options, { ort, local: session }, session.inputNames, session.outputNames, provider, fallbackReason);
  }

  private add(
    key: string,
    model: ModelRef,
    options: SessionOptions,
    session: Entry['session'],
    inputNames: readonly string[],
    outputNames: readonly string[],
    provider: Provider,
    fallbackReason: string | undefined,
  ): Entry {
    const handle: PooledSession = {
      key,
      model,
      options,
      requestedProvider: options.provider ?? 'cpu',
      provider,
      inputNames: [...inputNames],
      outputNames: [...outputNames],
      estimatedBytes: model.weightBytes ?? statSync(model.path).size,
    };
    const entry: Entry = { handle, session, lastUsed: ++this.clock, queue: Promise.resolve() };
    if (fallbackReason !== undefined) entry.fallbackReason = fallbackReason;
    this.entries.set(key, entry);
    this.evictOverBudget(key);
    return entry;
  }

  /** Releases least recently used sessions (never the one just created) until the estimate fits the budget. */
  private evictOverBudget(keep: string): void {
    let total = this.stats().estimatedBytes;
    const byAge = [...this.entries].filter(([k]) => k !== keep).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of byAge) {
      if (total <= this.budget) break;
      total -= entry.handle.estimatedBytes;
      void this.drop(key, entry);
    }
  }

  /** Forgets an entry now and releases its session once its queued runs are done. */
  private drop(key: string, entry: Entry): Promise<void> {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    const live = entry.session;
    const released = entry.queue
      .then(() => ('isolated' in live ? live.isolated.release() : this.native('release', entry.handle.model, () => live.local.release())))
      .catch((error: unknown) => this.log(`[session] releasing ${entry.handle.model.path} failed: ${firstLine(error)}`));
    entry.queue = released;
    return released;
  }
}

async function createSession(
  ort: OrtModule,
  model: ModelRef,
  options: SessionOptions,
  provider: Provider,
): Promise<Ort.InferenceSession> {
  const sessionConfig: Record<string, string> = {};
  if (options.disablePrepacking) sessionConfig.disable_prepacking = '1';
  const modelDir = dirname(safeRealpath(model.path));
  const externalDir = model.externalDataDir ? safeRealpath(model.externalDataDir) : null;
  const loadFromBytes = externalDir !== null && externalDir !== modelDir;
  if (loadFromBytes) sessionConfig.model_external_initializers_file_folder_path = externalDir;
  const ortOptions: Ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    extra: {
      session: sessionConfig,
      // ';'-separated. At level 'all' FuseFp16InitializerToFp32NodeTransformer also replaces every Cast of an F16
      // initializer by a float32 copy (measured: a 0.8 GB F16 SigLIP took +2 GB RSS and 28 s to open with it on).
      ...(model.disableConstantFolding ? { optimization: { disable_specified_optimizers: 'ConstantFolding;FuseFp16InitializerToFp32NodeTransformer' } } : {}),
    },
  };
  if (options.intraOpNumThreads !== undefined) ortOptions.intraOpNumThreads = options.intraOpNumThreads;
  if (options.graphOptimizationLevel !== undefined) ortOptions.graphOptimizationLevel = options.graphOptimizationLevel;
  else if (model.graphOptimizationLevel !== undefined) ortOptions.graphOptimizationLevel = model.graphOptimizationLevel;
  // Without ConstantFolding, the 'all' level's layout optimisations still materialise a float32 copy of every Cast
  // weight (measured, ORT 1.30, two T5-XXL layers in f16: +1.5 GB and 9 s; at 'extended': +26 MB and 0.25 s).
  else if (model.disableConstantFolding) ortOptions.graphOptimizationLevel = 'extended';
  // ORT only resolves external data inside the model's own folder when loading by path; a graph cached elsewhere is
  // loaded from bytes (it is small: weights stay external) with the external-data folder named explicitly.
  if (loadFromBytes) return ort.InferenceSession.create(readFileSync(model.path), ortOptions);
  return ort.InferenceSession.create(model.path, ortOptions);
}

function sessionKey(model: ModelRef, options: SessionOptions): string {
  const o = {
    provider: options.provider ?? 'cpu',
    intraOpNumThreads: options.intraOpNumThreads ?? null,
    disablePrepacking: options.disablePrepacking ?? false,
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    isolate: options.isolate ?? false,
  };
  return JSON.stringify([safeRealpath(model.path), model.externalDataDir ?? null, model.disableConstantFolding ?? false, model.graphOptimizationLevel ?? null, o]);
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}
