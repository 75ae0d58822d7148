/**
 * Starts a worker thread running a TypeScript module. Node 20 does not apply the parent's `--import tsx` loader to
 * workers, so the worker starts from a small .mjs bootstrap that registers tsx and then imports the entry.
 */

import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * @example
 * const worker = spawnTsWorker(new URL('./inference-worker.ts', import.meta.url), { workerData: { threads: 2 } });
 * // The entry reads its own data from `workerData` as usual (`__tsEntry` is added next to it).
 */
export function spawnTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  const data = (options.workerData ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error('spawnTsWorker: workerData must be a plain object (the entry URL is added to it)');
  }
  return new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), {
    ...options,
    workerData: { ...data, __tsEntry: entry.href },
  });
}
