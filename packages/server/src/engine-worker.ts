/**
 * The engine worker: runs prompts with core's Executor, one at a time, off the server's main thread. Everything here
 * may block (inference does); the main thread only ever talks to it through messages and the shared interrupt flag.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InterruptedError } from '@uso-studio/core';
import type { ExecutionContext, ExecutionEvent, NodeDefinition, NodeLogger } from '@uso-studio/core';
import { toCloneable } from './cloneable.ts';
import { EngineRuntime } from './engine-runtime.ts';
import { nativeActivityTracker, wireNativeActivity } from './native-activity.ts';
import type { FromWorker, RunResult, ToWorker, WorkerInit } from './worker-protocol.ts';

if (!parentPort) throw new Error('engine-worker.ts must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const interruptFlag = new Int32Array(init.interruptFlag);
const logger: NodeLogger = {
  debug: () => {},
  info: (m) => console.log(`[engine] ${m}`),
  warn: (m) => console.warn(`[engine] ${m}`),
  error: (m) => console.error(`[engine] ${m}`),
};

let current: { seq: number; controller: AbortController } | undefined;
let shuttingDown = false;

/** Aborts the running prompt once the main thread has flagged its sequence number. */
function checkInterrupt(): void {
  if (current && !current.controller.signal.aborted && Atomics.load(interruptFlag, 0) === current.seq) {
    current.controller.abort(new InterruptedError());
  }
}

/**
 * Wraps a node so the shared flag is read when the node starts and at each of its progress calls: a node that keeps
 * this thread busy never lets the `interrupt` message in, but it does call progress.
 */
function withInterruptChecks(def: NodeDefinition): NodeDefinition {
  return {
    ...def,
    execute(inputs, context) {
      checkInterrupt();
      if (context.signal.aborted) throw new InterruptedError();
      const progress = (value: number, max: number): void => {
        checkInterrupt();
        context.progress(value, max);
      };
      const wrapped = new Proxy(context, {
        get(target, key) {
          if (key === 'progress') return progress;
          const v = Reflect.get(target, key, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as ExecutionContext;
      return def.execute(inputs, wrapped);
    },
  };
}

// The main thread must never terminate this thread inside a blocking onnxruntime call: every session pool (and any
// service with nativeActivity()) reports its native calls, from as soon as its pack has created it.
const nativeTracker = nativeActivityTracker(new Int32Array(init.nativeActivity));
const runtime = await EngineRuntime.create({
  packs: init.packs,
  env: init.env,
  logger,
  wrapNode: withInterruptChecks,
  // Each native call is also a point where the interrupt flag is read: a node that makes many short onnxruntime calls
  // (a sampler running a batch in chunks) sees its signal abort between them, even without a progress call.
  onServices: (services) =>
    wireNativeActivity(services, {
      enter: () => {
        nativeTracker.enter();
        checkInterrupt();
      },
      leave: () => nativeTracker.leave(),
    }),
  ...(init.cache ? { cache: init.cache } : {}),
});

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  try {
    port.postMessage(message, transfer);
  } catch {
    // Something in the payload cannot be cloned (a function, a native handle): send a JSON-safe copy instead.
    port.postMessage(toCloneable(message));
  }
}

function forward(seq: number, event: ExecutionEvent): void {
  if (event.type === 'preview') {
    const src = event.data.bytes;
    // Transfer only a buffer the view owns whole; a slice of a larger (or pooled) buffer is copied first.
    const owned = src.byteOffset === 0 && src.byteLength === src.buffer.byteLength && src.buffer instanceof ArrayBuffer;
    const bytes = owned ? src : src.slice();
    post({ type: 'event', seq, event: { type: 'preview', data: { ...event.data, bytes } } }, [bytes.buffer as ArrayBuffer]);
    return;
  }
  post({ type: 'event', seq, event });
}

async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  current = { seq: msg.seq, controller };
  checkInterrupt();
  let result: RunResult;
  try {
    const r = await runtime.run(msg.prompt, {
      promptId: msg.promptId,
      extraData: msg.extraData,
      outputs: msg.outputs,
      previews: msg.previews,
      signal: controller.signal,
      onEvent: (event: ExecutionEvent) => forward(msg.seq, event),
    });
    result = {
      status: r.status,
      outputs: r.outputs as RunResult['outputs'],
      messages: r.messages as RunResult['messages'],
      ...(r.error ? { error: { type: r.error.exception_type, message: r.error.exception_message, traceback: r.error.traceback } } : {}),
    };
  } catch (error) {
    result = { status: 'error', outputs: {}, messages: [], error: errorSummary(error) };
  } finally {
    current = undefined;
  }
  post({ type: 'done', seq: msg.seq, promptId: msg.promptId, result, executionProviders: runtime.executionProviders() });
  if (shuttingDown) await exit();
}

/** Releases pack services (sessions must be released, never torn down mid-run) and ends the thread. */
async function exit(): Promise<never> {
  await runtime.dispose(logger);
  process.exit(0);
}

function errorSummary(error: unknown): NonNullable<RunResult['error']> {
  if (error instanceof Error) return { type: error.name, message: error.message, traceback: (error.stack ?? '').split('\n').slice(1) };
  return { type: 'Error', message: String(error) };
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'run':
      void run(msg);
      break;
    case 'interrupt':
      if (current?.seq === msg.seq) current.controller.abort(new InterruptedError());
      break;
    case 'free':
      // Dropping cached values releases the tensors and model descriptors they hold; unloading also releases the packs'
      // onnxruntime sessions (a pool waits for runs in flight before releasing).
      void runtime.free(msg.unloadModels, msg.freeMemory, logger).then(() => post({ type: 'freed' }));
      break;
    case 'shutdown':
      shuttingDown = true;
      if (current) current.controller.abort(new InterruptedError());
      else void exit();
      break;
  }
});

post({ type: 'ready', nodeCount: runtime.registry.names().length, executionProviders: runtime.executionProviders() });

