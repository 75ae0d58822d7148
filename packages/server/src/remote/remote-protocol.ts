/**
 * What the server and remote workers say to each other through Redis. BullMQ carries the work (one job per prompt,
 * job id = prompt id, in the queue `prompts`); two pub/sub channels carry everything that is not work:
 * - `<prefix>:events`, worker → server: a prompt's execution events (in order, one publishing connection per worker),
 *   `taken`, `refused` and `finished`;
 * - `<prefix>:control`, server → workers: `take` (fetch the next job), `interrupt`, `free`.
 * Each worker also keeps `<prefix>:worker:<name>` (its announcement, with a TTL) and is listed in `<prefix>:workers`.
 * Messages are one Buffer: a 4-byte big-endian JSON length, the JSON, then optional raw bytes (preview images).
 */
import type { ApiPrompt, ExecutionEvent } from '@uso-studio/core';

/** The BullMQ queue every worker takes prompts from. */
export const PROMPT_QUEUE = 'prompts';

export interface RemoteKeys {
  /** BullMQ's key prefix. */
  bullPrefix: string;
  events: string;
  control: string;
  workers: string;
  worker(name: string): string;
}

export function remoteKeys(prefix: string): RemoteKeys {
  return {
    bullPrefix: prefix,
    events: `${prefix}:events`,
    control: `${prefix}:control`,
    workers: `${prefix}:workers`,
    worker: (name) => `${prefix}:worker:${name}`,
  };
}

/** The files a prompt needs, as found from its node schemas. */
export interface PromptNeeds {
  /** `folder/name` under models/, e.g. `checkpoints/uso-demo.safetensors`. */
  models: string[];
  /** Names (with subfolder) under input/. */
  inputs: string[];
}

export interface RemoteJobData {
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  outputs: string[];
  /** Whether nodes make step previews (the server's preview method, or the prompt's own). */
  previews: boolean;
  needs: PromptNeeds;
  /** Where the worker fetches inputs and sends outputs, and the token that authorises this prompt's transfers only. */
  server: { url: string; token: string };
  /** Workers that found they lack a file this prompt needs. */
  refusedBy: string[];
}

/** A worker's announcement, refreshed every heartbeat. */
export interface WorkerAnnouncement {
  name: string;
  device: string;
  executionProviders: string[];
  concurrency: number;
  running: string[];
  /** `folder/name` of every model file it has. */
  modelFiles: string[];
  /** `folder/name` of the model files of prompts it ran since its last unload (their sessions and values are warm). */
  modelsLoaded: string[];
  heartbeat: number;
  /** How long after `heartbeat` the announcement counts as gone. */
  ttlMs: number;
}

export type WorkerMessage =
  | { type: 'event'; worker: string; promptId: string; event: ExecutionEvent }
  | { type: 'taken'; worker: string; takeId: string; promptId: string | null }
  | { type: 'refused'; worker: string; promptId: string; missing: string[] }
  | { type: 'finished'; worker: string; promptId: string }
  | { type: 'hello'; worker: string };

export type ControlMessage =
  | { type: 'take'; worker: string; takeId: string }
  | { type: 'interrupt'; promptId?: string }
  | { type: 'free'; unloadModels: boolean; freeMemory: boolean };

/** How a job's return value carries the prompt's result (BullMQ stores it as JSON). */
export type { RunResult as RemoteRunResult } from '../worker-protocol.ts';

export function encodeMessage(message: WorkerMessage | ControlMessage): Buffer {
  if (message.type === 'event' && message.event.type === 'preview') {
    const { bytes, ...rest } = message.event.data;
    const head = Buffer.from(JSON.stringify({ ...message, event: { type: 'preview', data: rest } }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(head.length);
    return Buffer.concat([len, head, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  }
  const head = Buffer.from(JSON.stringify(message));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head]);
}

export function decodeMessage<T extends WorkerMessage | ControlMessage>(buffer: Buffer): T {
  const n = buffer.readUInt32BE(0);
  const message = JSON.parse(buffer.subarray(4, 4 + n).toString('utf8')) as T;
  if (message.type === 'event' && (message as WorkerMessage & { type: 'event' }).event.type === 'preview') {
    const data = (message as { event: { data: Record<string, unknown> } }).event.data;
    data.bytes = new Uint8Array(buffer.subarray(4 + n));
  }
  return message;
}
