/**
 * The worker's side of file transfer: input images a prompt needs come from the server, and each output file goes
 * back to it. Network failures and 5xx answers are retried (the server may be
 * restarting) until the transfer succeeds or the prompt is abandoned; a 4xx is a real refusal and fails the prompt.
 * Output files are sent before the `executed` event that names them is passed on, so the client, /view and history
 * all see the name the server kept.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostEnvironment } from '@uso-studio/core';
import { checkFileName, resolveWritableDir } from '../safe-path.ts';
import type { RemoteJobData } from './remote-protocol.ts';

export interface TransferTarget {
  server: RemoteJobData['server'];
  promptId: string;
  /** Stops retrying (the worker is shutting down or lost the job). */
  signal: AbortSignal;
}

const RETRY_MS = [100, 250, 500, 1000, 2000];

/** Downloads each input into `inputDir` (keeping its subfolder). */
export async function fetchInputs(names: readonly string[], inputDir: string, target: TransferTarget): Promise<void> {
  for (const name of names) {
    const slash = name.lastIndexOf('/');
    const query = new URLSearchParams({ prompt_id: target.promptId, filename: name.slice(slash + 1), subfolder: slash < 0 ? '' : name.slice(0, slash) });
    const res = await withRetry(target, () => fetch(`${target.server.url}/uso-remote/input?${query}`, { headers: auth(target) }));
    if (!res.ok) throw new Error(`The server refused input image '${name}': ${res.status} ${await res.text()}`);
    // The same checks as /upload: a name from the queue may only ever land inside this worker's input folder.
    const file = join(resolveWritableDir(inputDir, name.slice(0, Math.max(0, slash))), checkFileName(name.slice(slash + 1)));
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  }
}

export interface FileRef {
  filename: string;
  subfolder?: string;
  type: 'output' | 'temp';
}

/** An item of a UI output that names an output or temp file. */
export function isFileRef(item: unknown): item is FileRef {
  const r = item as FileRef | null;
  return typeof r === 'object' && r !== null && typeof r.filename === 'string' && (r.type === 'output' || r.type === 'temp');
}

/** Where a reference's file lies on this host. */
export function localFile(ref: FileRef, env: Pick<HostEnvironment, 'outputDir' | 'tempDir'>): string {
  return join(ref.type === 'temp' ? env.tempDir : env.outputDir, ...(ref.subfolder ?? '').split('/').filter(Boolean), ref.filename);
}

/** Sends one file; returns the reference with the name the server kept (it never overwrites a file). */
export async function sendFile(ref: FileRef, env: Pick<HostEnvironment, 'outputDir' | 'tempDir'>, target: TransferTarget): Promise<FileRef> {
  const subfolder = ref.subfolder ?? '';
  const bytes = readFileSync(localFile(ref, env));
  const query = new URLSearchParams({ prompt_id: target.promptId, type: ref.type, subfolder, filename: ref.filename });
  const res = await withRetry(target, () =>
    fetch(`${target.server.url}/uso-remote/output?${query}`, { method: 'PUT', headers: { ...auth(target), 'content-type': 'application/octet-stream' }, body: bytes }),
  );
  if (!res.ok) throw new Error(`The server refused output file '${ref.filename}': ${res.status} ${await res.text()}`);
  const kept = (await res.json()) as { filename: string };
  return { ...ref, filename: kept.filename };
}

function auth(target: TransferTarget): Record<string, string> {
  return { authorization: `Bearer ${target.server.token}` };
}

/** Retries network failures and 5xx answers with a growing pause, until `signal` aborts. */
async function withRetry(target: TransferTarget, send: () => Promise<Response>): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    target.signal.throwIfAborted();
    try {
      const res = await send();
      if (res.status < 500) return res;
      await res.arrayBuffer();
    } catch (error) {
      if (target.signal.aborted) throw error;
    }
    await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!, undefined, { signal: target.signal });
  }
}
