/**
 * Messages between the server's main thread and the engine worker. Plain structured-clone data; preview bytes travel
 * as transferred ArrayBuffers.
 */
import type { ApiPrompt, ExecutionEvent, HostEnvironment } from '@uso-studio/core';

/** The executor's cache policy, as plain data so it can cross to the worker. */
export type CacheSetting = { policy: 'last-prompt' } | { policy: 'lru'; maxEntries: number } | { policy: 'ram'; maxBytes: number };

export interface WorkerInit {
  /** Node pack module specifiers (package names or absolute paths), the same list the main thread loaded. */
  packs: string[];
  env: Omit<HostEnvironment, 'services'>;
  /** How the worker's executor keeps results between prompts (default: the last prompt's, as ComfyUI does). */
  cache?: CacheSetting;
  /**
   * Int32Array over a SharedArrayBuffer. Slot 0 holds the run sequence number the main thread wants stopped. The worker
   * reads it at every progress call, so an interrupt lands even while a node keeps the worker's event loop busy.
   */
  interruptFlag: SharedArrayBuffer;
  /**
   * Int32Array over a SharedArrayBuffer: how many blocking onnxruntime calls (session creation, run, release) the
   * worker is inside, or -1 once the main thread has claimed it for terminate() (protocol in native-activity.ts).
   * terminate() inside such a call aborts the whole process, so the main thread waits while this is above 0.
   */
  nativeActivity: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'run'; seq: number; promptId: string; prompt: ApiPrompt; extraData: Record<string, unknown>; outputs: string[]; previews: boolean }
  | { type: 'interrupt'; seq: number }
  | { type: 'free'; unloadModels: boolean; freeMemory: boolean }
  | { type: 'shutdown' };

export interface RunResult {
  status: 'success' | 'error' | 'interrupted';
  outputs: Record<string, Record<string, unknown>>;
  messages: [string, unknown][];
  error?: { type: string; message: string; traceback?: string[] };
}

export type FromWorker =
  | { type: 'ready'; nodeCount: number; executionProviders: string[] }
  | { type: 'event'; seq: number; event: ExecutionEvent }
  | { type: 'done'; seq: number; promptId: string; result: RunResult; executionProviders: string[] }
  | { type: 'freed' };
