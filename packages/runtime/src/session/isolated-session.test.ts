/**
 * Sessions in their own process (`isolate: true`): the same outputs as in this thread (float32 and int64 across the
 * process boundary), a run inside one long onnxruntime call stopped by interruptRuns() (the process is killed, the
 * run rejects as an abort), and the same handle usable afterwards. Real onnxruntime, real child processes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { Tensor } from '../tensor/tensor.ts';
import { SessionPool } from './session-pool.ts';

const root = mkdtempSync(join(tmpdir(), 'isolated-session-'));
const pools: SessionPool[] = [];
afterAll(() => Promise.all(pools.map((p) => p.close())));

function newPool(): SessionPool {
  const pool = new SessionPool({ defaults: { intraOpNumThreads: 1 } });
  pools.push(pool);
  return pool;
}

/**
 * total = sum(x · W^depth) with W = 1/512 everywhere, so each row keeps its sum and total = sum(x);
 * picked = x[idx] and idx echoed back (int64 both ways). The run's length grows with x's row count: about 2.4 ms per
 * MatMul per 512 rows on one thread, so 4096 rows at depth 400 is several seconds, 4 rows a few milliseconds.
 */
function chainModel(depth: number): string {
  const g = new GraphBuilder({ name: 'isolated-chain' });
  const x = g.input('x', 'float32', ['rows', 512]);
  const idx = g.input('idx', 'int64', ['k']);
  const w = g.constFloat(new Float32Array(512 * 512).fill(1 / 512), [512, 512], 'w'); // [512, 512]
  let m = x;
  for (let i = 0; i < depth; i++) m = g.matMul(m, w, `mm${i}`); // [rows, 512]
  g.output(g.reduceSum(m, [0, 1], false, 'total'), 'total', 'float32', []);
  g.output(g.gather(x, idx, 0, 'picked'), 'picked', 'float32', ['k', 512]);
  g.output(g.identity(idx, 'idx_echo'), 'idx_out', 'int64', ['k']);
  const path = join(root, `chain-${depth}.onnx`);
  g.save(path);
  return path;
}

const feeds = (rows: number) => {
  const x = new Float32Array(rows * 512).fill(1);
  for (let r = 0; r < rows; r++) x[r * 512] = r; // row r starts with r, so picked rows are recognisable
  return { x: Tensor.float32([rows, 512], x), idx: new Tensor('int64', [2], BigInt64Array.from([3n, 1n])) };
};
/** sum(x) of feeds(rows): 511 ones per row plus the row numbers. */
const totalOf = (rows: number) => rows * 511 + (rows * (rows - 1)) / 2;

describe('isolated sessions', () => {
  it('give the same outputs as a session in this thread', async () => {
    const pool = newPool();
    const path = chainModel(4);
    const local = await pool.run(await pool.acquire(path), feeds(4));
    const isolatedHandle = await pool.acquire(path, { isolate: true });
    expect(isolatedHandle.outputNames).toEqual(['total', 'picked', 'idx_out']);
    const isolated = await pool.run(isolatedHandle, feeds(4));
    for (const name of ['total', 'picked', 'idx_out']) {
      expect(isolated[name]!.dtype).toBe(local[name]!.dtype);
      expect(isolated[name]!.shape).toEqual(local[name]!.shape);
      expect([...isolated[name]!.data]).toEqual([...local[name]!.data]);
    }
    expect([...isolated.idx_out!.data]).toEqual([3n, 1n]);
    expect((isolated.picked!.data as Float32Array)[0]).toBe(3);
    expect(pool.providersInUse().map((p) => p.actual)).toEqual(['cpu', 'cpu']);
  });

  it('stop a run inside one long onnxruntime call, and the same handle runs again afterwards', async () => {
    const pool = newPool();
    const handle = await pool.acquire(chainModel(400), { isolate: true });
    const long = pool.run(handle, feeds(4096)); // several seconds inside a single run
    const queued = pool.run(handle, feeds(4)); // behind it on the same session
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.interruptRuns()).toBe(1);
    // A run that finished would have resolved: a rejection means it was stopped inside onnxruntime.
    await expect(long).rejects.toMatchObject({ name: 'AbortError' });
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect(pool.stats().sessions).toBe(0);
    expect(pool.interruptRuns()).toBe(0);

    const again = await pool.run(handle, feeds(4)); // a new process and session behind the same handle
    expect((again.total!.data as Float32Array)[0]).toBe(totalOf(4));
    expect(pool.stats().sessions).toBe(1);
  });

  it('report a run failure with onnxruntime text, and the session keeps working', async () => {
    const pool = newPool();
    const handle = await pool.acquire(chainModel(2), { isolate: true });
    const bad = { x: Tensor.float32([2, 3], new Float32Array(6)), idx: feeds(4).idx };
    await expect(pool.run(handle, bad)).rejects.toThrow(/dimension|shape|Got invalid/i);
    expect((await pool.run(handle, feeds(4))).total!.data[0]).toBe(totalOf(4));
  });
});
