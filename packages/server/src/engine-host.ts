/**
 * The main thread's side of the engine worker: starts it, hands it one prompt at a time, relays its events, and
 * replaces it when it dies. Nothing here waits on inference: a run is a promise settled by a message.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ExecutionEvent } from '@uso-studio/core';
import type { Engine, EngineJob } from './engine.ts';
import type { CacheSetting, FromWorker, RunResult, ToWorker, WorkerInit } from './worker-protocol.ts';
import { claimForTermination, inNativeCode } from './native-activity.ts';

/** How often close() looks again whether a worker past its grace period has left native inference. */
const NATIVE_POLL_MS = 50;

export type { EngineJob } from './engine.ts';

export interface EngineHostOptions {
  packs: string[];
  env: WorkerInit['env'];
  cache?: CacheSetting;
  /** Logs worker deaths and restarts. */
  log?: (message: string) => void;
}

interface Running {
  seq: number;
  job: EngineJob;
  onEvent: (event: ExecutionEvent) => void;
  resolve: (result: RunResult) => void;
}

// On Node 20, `execArgv: ['--import', 'tsx']` does not reach a worker whose entry is a .ts file (the entry loads
// before the hooks). The worker therefore starts from a tiny JS bootstrap that registers tsx's ESM hooks in its own
// thread and then imports the TypeScript entry.
const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
const workerEntry = new URL('./engine-worker.ts', import.meta.url).href;
const bootstrap = `const { register } = await import(${JSON.stringify(tsxApi)}); register(); await import(${JSON.stringify(workerEntry)});`;

/** The in-process engine: one worker thread, one prompt at a time. */
export class EngineHost implements Engine {
  readonly #options: EngineHostOptions;
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));
  #worker: Worker | undefined;
  /** The live worker's native-activity counter (a fresh one per worker: a claimed counter stays claimed). */
  #native = new Int32Array(new SharedArrayBuffer(4));
  #ready: Promise<Worker> | undefined;
  #running: Running | undefined;
  #seq = 0;
  #closing = false;
  #freeWaiters: (() => void)[] = [];
  /** Execution providers reported by the live worker. */
  executionProviders: string[] = ['cpu'];
  /** How many times a worker died and was replaced. */
  restarts = 0;

  constructor(options: EngineHostOptions) {
    this.#options = options;
  }

  /** Starts the worker now (otherwise the first run does) and waits until its packs are loaded. */
  async start(): Promise<void> {
    await this.#ensureWorker();
  }

  capacity(): number {
    return this.#closing ? 0 : 1;
  }

  onCapacityChange(): void {
    // One worker thread, replaced in place when it dies: the capacity never grows.
  }

  workers(): undefined {
    return undefined;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** True while the worker is inside a blocking onnxruntime call (creation, run, release): it must not be terminated then. */
  get inNativeCode(): boolean {
    return this.#worker !== undefined && inNativeCode(this.#native);
  }

  get runningPromptId(): string | undefined {
    return this.#running?.job.promptId;
  }

  /** Runs one prompt; never rejects: a dead worker becomes an error result and a fresh worker. */
  async run(job: EngineJob, onEvent: (event: ExecutionEvent) => void): Promise<RunResult> {
    if (this.#running) throw new Error('EngineHost runs one prompt at a time');
    const seq = ++this.#seq;
    const result = new Promise<RunResult>((resolve) => {
      this.#running = { seq, job, onEvent, resolve };
    });
    let worker: Worker;
    try {
      worker = await this.#ensureWorker();
    } catch (error) {
      this.#settle({ status: 'error', outputs: {}, messages: [], error: { type: 'WorkerStartError', message: `The engine worker failed to start: ${describe(error)}` } });
      return result;
    }
    if (this.#currentSeq() === seq) {
      const msg: ToWorker = { type: 'run', seq, promptId: job.promptId, prompt: job.prompt, extraData: job.extraData, outputs: job.outputs, previews: job.previews ?? false };
      worker.postMessage(msg);
    }
    return result;
  }

  /** Interrupts the running prompt (only that one when `promptId` is given); true if something was interrupted. */
  interrupt(promptId?: string): boolean {
    const r = this.#running;
    if (!r || (promptId !== undefined && r.job.promptId !== promptId)) return false;
    // The flag reaches a node that keeps the worker busy (read at each progress call); the message reaches one that awaits.
    Atomics.store(this.#flag, 0, r.seq);
    this.#worker?.postMessage({ type: 'interrupt', seq: r.seq } satisfies ToWorker);
    return true;
  }

  /** Asks the worker to drop cached values and models; resolves when it has. */
  async free(unloadModels: boolean, freeMemory: boolean): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      this.#freeWaiters.push(resolve);
      worker.postMessage({ type: 'free', unloadModels, freeMemory } satisfies ToWorker);
    });
  }

  /**
   * Stops the worker. A running prompt is interrupted and the worker asked to release its sessions and exit. After
   * `graceMs` a worker still alive is terminated, but never while it is inside a blocking onnxruntime call:
   * terminating a thread inside run() or session creation aborts the whole process, so close() then waits for that
   * call to return (however long it takes). A node that hangs in JavaScript is terminated after the grace period.
   */
  async close(graceMs = 5000): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    const native = this.#native;
    if (!worker) return;
    let gone = false;
    const exited = new Promise<'exited'>((resolve) =>
      worker.once('exit', () => {
        gone = true;
        resolve('exited');
      }),
    );
    if (this.#running) this.interrupt();
    worker.postMessage({ type: 'shutdown' } satisfies ToWorker);
    if ((await Promise.race([exited, delay(graceMs)])) === 'timeout') {
      // Claiming the counter also stops the worker from entering a new native call before terminate() lands.
      while (!gone && !claimForTermination(native)) await Promise.race([exited, delay(NATIVE_POLL_MS)]);
      if (!gone) await worker.terminate();
    }
    this.#worker = undefined;
  }

  #ensureWorker(): Promise<Worker> {
    if (this.#closing) return Promise.reject(new Error('server is shutting down'));
    if (!this.#ready) this.#ready = this.#spawn();
    return this.#ready;
  }

  #spawn(): Promise<Worker> {
    this.#native = new Int32Array(new SharedArrayBuffer(4));
    const init: WorkerInit = {
      packs: this.#options.packs,
      env: this.#options.env,
      ...(this.#options.cache ? { cache: this.#options.cache } : {}),
      interruptFlag: this.#flag.buffer as SharedArrayBuffer,
      nativeActivity: this.#native.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(bootstrap, { eval: true, workerData: init });
    this.#worker = worker;
    return new Promise<Worker>((resolve, reject) => {
      let ready = false;
      let died = false;
      const die = (reason: string) => {
        if (died) return;
        died = true;
        if (this.#worker === worker) {
          this.#worker = undefined;
          this.#ready = undefined;
        }
        if (!ready) reject(new Error(reason));
        else if (!this.#closing) {
          this.restarts++;
          this.#options.log?.(`engine worker died (${reason}); starting a new one`);
        }
        for (const w of this.#freeWaiters.splice(0)) w();
        // Before 'ready', run() itself reports the failed start.
        if (ready && this.#running) {
          this.#settle({
            status: 'error',
            outputs: {},
            messages: [],
            error: { type: 'WorkerCrashed', message: `The engine worker crashed while running this prompt: ${reason}` },
          });
        }
        // Start the replacement right away so the next prompt does not pay for the start-up.
        if (ready && !this.#closing) this.#ensureWorker().catch((e: unknown) => this.#options.log?.(`engine worker restart failed: ${describe(e)}`));
      };
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            ready = true;
            this.executionProviders = msg.executionProviders;
            resolve(worker);
            break;
          case 'event':
            if (this.#running?.seq === msg.seq) this.#running.onEvent(msg.event);
            break;
          case 'done':
            this.executionProviders = msg.executionProviders;
            if (this.#running?.seq === msg.seq) this.#settle(msg.result);
            break;
          case 'freed':
            this.#freeWaiters.shift()?.();
            break;
        }
      });
      worker.on('error', (error) => die(describe(error)));
      worker.on('exit', (code) => die(`exit code ${code}`));
    });
  }

  #currentSeq(): number | undefined {
    return this.#running?.seq;
  }

  #settle(result: RunResult): void {
    const r = this.#running;
    if (!r) return;
    this.#running = undefined;
    Atomics.store(this.#flag, 0, 0);
    r.resolve(result);
  }
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
