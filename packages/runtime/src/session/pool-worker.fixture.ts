/**
 * Worker entry used by ts-worker.test.ts: builds a small graph, runs it through a SessionPool on request, and on
 * 'stop' lets the run in flight finish, releases every session and exits on its own (never terminate() a worker
 * that may be inside run()).
 */

import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { SessionPool } from './session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';

const port = parentPort!;
const { dir } = workerData as { dir: string };

const g = new GraphBuilder({ name: 'worker' });
const x = g.input('x', 'float32', [128, 128]);
let m = x;
for (let i = 0; i < 30; i++) m = g.softmax(g.matMul(m, m, `mm${i}`), -1, `sm${i}`);
g.output(g.reduceSum(m, [0, 1], false, 'total'), 'total', 'float32', []);
const path = join(dir, 'worker.onnx');
g.save(path);

const pool = new SessionPool({ defaults: { intraOpNumThreads: 1 } });
let inFlight: Promise<void> = Promise.resolve();

port.on('message', (msg: string) => {
  if (msg === 'run') {
    inFlight = (async () => {
      const s = await pool.acquire(path);
      const { total } = await pool.run(s, { x: Tensor.float32([128, 128], new Float32Array(128 * 128).fill(0.5)) });
      port.postMessage({ type: 'result', total: (total!.data as Float32Array)[0], sessions: pool.stats().sessions });
    })();
  } else if (msg === 'stop') {
    void (async () => {
      await inFlight;
      await pool.close();
      port.postMessage({ type: 'stopped', sessions: pool.stats().sessions });
      port.close(); // nothing else keeps the thread alive, so it exits with code 0
    })();
  }
});
port.postMessage({ type: 'ready' });
