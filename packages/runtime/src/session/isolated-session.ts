/**
 * An onnxruntime session in a child process of its own, so that a run in progress can be stopped at once.
 *
 * onnxruntime-node 1.30 runs a session synchronously on the calling thread and reads only `logSeverityLevel` and
 * `tag` from the run options: its `terminate` flag never reaches onnxruntime, and nothing can set it while a run is
 * in progress. Terminating a worker thread inside a run aborts the whole process. Killing a process is the one way
 * left to stop a long run (a FLUX DiT call takes many seconds on a CPU): `kill()` ends it within milliseconds, and
 * the caller creates a new session when it needs one. The price: one process per session, an IPC copy of inputs and
 * outputs per run, and a killed session's creation time paid again on its next use.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Tensor } from '../tensor/tensor.ts';
import type { FromHost, OpenedSession, ToHost, WireTensor } from './isolated-session-protocol.ts';
import type { ModelRef, SessionOptions } from './session-pool.ts';

/** A run stopped because its session's process was killed (an interrupt). Named like an abort, which it is. */
export class RunInterruptedError extends Error {
  override name = 'AbortError';
  constructor(model: string) {
    super(`The onnxruntime run of ${model} was interrupted`);
  }
}

/**
 * An isolated session's process ended by itself (the kernel's out-of-memory killer, a crash in onnxruntime) while it
 * had work; `signal` or `code` says how. Not an interrupt: those end with RunInterruptedError.
 */
export class SessionProcessExitError extends Error {
  override name = 'SessionProcessExitError';
  constructor(
    model: string,
    readonly signal: NodeJS.Signals | null,
    readonly code: number | null,
  ) {
    super(`The onnxruntime process of ${model} ended unexpectedly (${signal ?? `exit code ${code}`})`);
  }
}

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void; run: boolean };
type Request = ToHost extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export class IsolatedSession {
  readonly #child: ChildProcess;
  readonly #model: ModelRef;
  readonly #waiting = new Map<number, Waiter>();
  #nextId = 0;
  /** Why the process is gone (killed, exited): every later request fails with it. */
  #ended: (() => Error) | undefined;
  #opened: OpenedSession | undefined;

  private constructor(model: ModelRef, log: (line: string) => void) {
    this.#model = model;
    this.#child = fork(new URL('./process-bootstrap.mjs', import.meta.url), [new URL('./isolated-session-host.ts', import.meta.url).href], {
      serialization: 'advanced',
      // Not the parent's flags: a test runner's or debugger's options have no business in this process.
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: FromHost) => {
      if ('type' in message) return log(message.line);
      const waiter = this.#waiting.get(message.id);
      if (!waiter) return;
      this.#waiting.delete(message.id);
      this.#idleUnlessWaiting();
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
    });
    this.#child.on('exit', (code, signal) => {
      this.#ended ??= () => new SessionProcessExitError(model.path, signal, code);
      this.#failAll();
    });
    this.#child.on('error', (error) => {
      this.#ended ??= () => new Error(`The onnxruntime process of ${model.path} failed: ${error.message}`);
      this.#failAll();
    });
  }

  /** Starts the process and creates the session in it (rejects with the creation error, the process ended). */
  static async open(model: ModelRef, options: SessionOptions, log: (line: string) => void): Promise<IsolatedSession> {
    const session = new IsolatedSession(model, log);
    try {
      session.#opened = (await session.#request({ type: 'open', model, options }, false)) as OpenedSession;
    } catch (error) {
      session.kill();
      throw error;
    }
    return session;
  }

  get inputNames(): readonly string[] {
    return this.#opened!.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.#opened!.outputNames;
  }
  get provider(): OpenedSession['provider'] {
    return this.#opened!.provider;
  }
  get fallbackReason(): string | undefined {
    return this.#opened!.fallbackReason;
  }

  /** False once the process is gone (killed by kill(), or ended by itself): every call now rejects. */
  get alive(): boolean {
    return this.#ended === undefined;
  }

  /** True while a run is in flight. */
  get running(): boolean {
    return [...this.#waiting.values()].some((w) => w.run);
  }

  /** Runs the session; inputs and outputs are copied across the process boundary. */
  async run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const wire: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feeds)) wire[name] = { dtype: t.dtype, shape: t.shape, data: t.data };
    const result = (await this.#request({ type: 'run', feeds: wire, ...(outputs ? { outputs } : {}) }, true)) as Record<string, WireTensor>;
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = new Tensor(t.dtype, t.shape, t.data);
    return out;
  }

  /**
   * Ends the process at once (SIGKILL: the run in progress, if any, stops inside onnxruntime). Pending and later
   * calls reject with RunInterruptedError. Returns whether a run was in flight.
   */
  kill(): boolean {
    const wasRunning = this.running;
    this.#ended ??= () => new RunInterruptedError(this.#model.path);
    this.#child.kill('SIGKILL');
    this.#failAll();
    return wasRunning;
  }

  /** Releases the session and lets its process exit (after a run in flight, if any). */
  async release(): Promise<void> {
    if (this.#ended) return;
    await this.#request({ type: 'release' }, false).catch(() => undefined);
  }

  #request(message: Request, run: boolean): Promise<unknown> {
    if (this.#ended) return Promise.reject(this.#ended());
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, run });
      // While an answer is awaited the channel keeps the event loop alive; idle, it must not hold the host open.
      this.#child.ref();
      this.#child.channel?.ref();
      this.#child.send({ ...message, id } as ToHost, (error) => {
        if (!error) return;
        this.#waiting.delete(id);
        this.#idleUnlessWaiting();
        // The channel is closed: the process is gone, whether or not its exit has been reported yet.
        reject(this.#ended?.() ?? new SessionProcessExitError(this.#model.path, null, null));
      });
    });
  }

  #idleUnlessWaiting(): void {
    if (this.#waiting.size > 0) return;
    this.#child.unref();
    this.#child.channel?.unref();
  }

  #failAll(): void {
    const waiters = [...this.#waiting.values()];
    this.#waiting.clear();
    this.#idleUnlessWaiting();
    for (const w of waiters) w.reject(this.#ended!());
  }
}
