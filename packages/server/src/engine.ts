/**
 * The one seam between the prompt queue and whatever runs prompts. Two implementations: `EngineHost` (the in-process
 * worker thread, the default) and `RemoteEngine` (workers on other machines through BullMQ on Redis). The queue never
 * knows which one it talks to.
 */
import type { ApiPrompt, ExecutionEvent } from '@uso-studio/core';
import type { RunResult } from './worker-protocol.ts';

export interface EngineJob {
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  outputs: string[];
  /** Whether nodes make step previews (ComfyUI's preview method is not `none`). */
  previews?: boolean;
}

/** One process that runs prompts, as /system_stats and /queue show it. */
export interface EngineWorkerInfo {
  name: string;
  /** Where its sessions run: the execution providers it uses (`cpu`, `cuda`...). */
  device: string;
  /** How many prompts it runs at once. */
  concurrency: number;
  /** Prompt ids it is running now. */
  running: string[];
  /** Model files (`folder/name`) with live sessions or cached values. */
  models_loaded: string[];
  /** How many model files it has on disk. */
  model_files: number;
  /** Milliseconds since the epoch of its last sign of life. */
  last_heartbeat: number;
}

export interface Engine {
  /** Gets ready to run (starts the worker thread, connects to Redis); resolves once it can take prompts. */
  start(): Promise<void>;
  /** How many prompts may run at the same time right now (the queue starts no more than this). */
  capacity(): number;
  /** Called whenever `capacity()` may have grown (a worker joined or came back), so the queue can start more. */
  onCapacityChange(listener: () => void): void;
  /**
   * Runs one prompt. Never rejects: every failure becomes an error result. Undefined means the engine let go of the
   * prompt without an outcome (the server is closing while a remote worker still runs it): it stays `running` in the
   * store, and the next start's `resume` takes it back.
   */
  run(job: EngineJob, onEvent: (event: ExecutionEvent) => void): Promise<RunResult | undefined>;
  /**
   * Takes back a prompt the previous server process left running (remote workers may still be running it or may
   * have finished it). Undefined when this engine cannot know about it, as the in-process worker cannot.
   */
  resume?(job: EngineJob, onEvent: (event: ExecutionEvent) => void): Promise<RunResult | undefined>;
  /** Interrupts a running prompt (every running one when `promptId` is not given); true if something was interrupted. */
  interrupt(promptId?: string): boolean;
  /** Drops cached values (and with `unloadModels`, model sessions) everywhere prompts run. */
  free(unloadModels: boolean, freeMemory: boolean): Promise<void>;
  /** Execution providers in use, for /system_stats. */
  readonly executionProviders: string[];
  /** The processes that run prompts; undefined for the in-process worker (its responses stay exactly ComfyUI's). */
  workers(): EngineWorkerInfo[] | undefined;
  /** Ends running prompts' connections and releases everything. */
  close(graceMs?: number): Promise<void>;
}
