import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTsWorker } from './ts-worker.ts';

interface WorkerMessage {
  type: 'ready' | 'result' | 'stopped';
  total?: number;
  sessions?: number;
}

describe('SessionPool inside a worker thread', () => {
  it('runs, then stops cleanly on request: finishes the run, releases sessions, exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-worker-'));
    const worker = spawnTsWorker(new URL('./pool-worker.fixture.ts', import.meta.url), { workerData: { dir } });
    const messages: WorkerMessage[] = [];
    const exitCode = await new Promise<number>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        messages.push(m);
        if (m.type === 'ready') {
          worker.postMessage('run');
          worker.postMessage('stop'); // arrives while the run is in flight
        }
      });
      worker.on('error', reject);
      worker.on('exit', resolve);
    });
    expect(exitCode).toBe(0);
    expect(messages.map((m) => m.type)).toEqual(['ready', 'result', 'stopped']);
    // Rows of a softmax sum to 1, so the total over 128 rows is 128.
    expect(messages[1]!.total).toBeCloseTo(128, 2);
    expect(messages[1]!.sessions).toBe(1);
    expect(messages[2]!.sessions).toBe(0);
  });

  it('refuses workerData that is not a plain object', () => {
    expect(() => spawnTsWorker(new URL('./pool-worker.fixture.ts', import.meta.url), { workerData: [1] })).toThrow(/plain object/);
  });
});
