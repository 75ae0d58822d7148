// Entry point of TypeScript worker threads: Node 20 does not pass `--import tsx` hooks on to workers, so register
// tsx here and import the real entry (workerData.__tsEntry) through it.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.__tsEntry, import.meta.url);
