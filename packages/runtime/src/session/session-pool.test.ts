import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionPool } from './session-pool.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { Tensor } from '../tensor/tensor.ts';

const root = mkdtempSync(join(tmpdir(), 'session-pool-'));
const pools: SessionPool[] = [];
afterAll(() => Promise.all(pools.map((p) => p.releaseAll())));

function newPool(options: ConstructorParameters<typeof SessionPool>[0] = {}): SessionPool {
  const pool = new SessionPool(options);
  pools.push(pool);
  return pool;
}

/** Saves y = x * factor (+ a [64, 64] matmul chain to give runs some length) and returns its path. */
function scaleModel(name: string, factor: number, heavy = false): string {
  const g = new GraphBuilder({ name });
  const x = g.input('x', 'float32', ['N']);
  let y = g.mul(x, g.scalar(factor), 'scaled');
  if (heavy) {
    let m = g.expand(g.reshape(y, [1, -1]), [256, 256], 'square'); // [256, 256] when N = 256
    for (let i = 0; i < 20; i++) m = g.softmax(g.matMul(m, m, `mm${i}`), -1, `sm${i}`);
    y = g.add(y, g.mul(g.reduceSum(m, [0, 1], false, 'total'), g.scalar(0), 'zeroed'), 'y_heavy');
  }
  g.output(y, 'y', 'float32', ['N']);
  const path = join(root, `${name}.onnx`);
  g.save(path);
  return path;
}

const x3 = () => Tensor.float32([3], new Float32Array([1, 2, 3]));

describe('SessionPool', () => {
  it('creates, caches by path and options, and runs with Tensor in and out', async () => {
    const pool = newPool();
    const path = scaleModel('double', 2);
    const a = await pool.acquire(path);
    expect(await pool.acquire(path)).toBe(a);
    const threaded = await pool.acquire(path, { intraOpNumThreads: 1, disablePrepacking: true });
    expect(threaded).not.toBe(a);
    expect(a.inputNames).toEqual(['x']);
    expect(a.outputNames).toEqual(['y']);
    expect(a.provider).toBe('cpu');
    const { y } = await pool.run(threaded, { x: x3() });
    expect(y!.dtype).toBe('float32');
    expect([...(y!.data as Float32Array)]).toEqual([2, 4, 6]);
    expect(pool.stats().sessions).toBe(2);
  });

  it('reports the time each run spent inside onnxruntime to onRunTimed', async () => {
    const pool = newPool();
    const session = await pool.acquire(scaleModel('timed', 3));
    const seen: Array<[string, number]> = [];
    pool.onRunTimed = (s, ms) => seen.push([s.key, ms]);
    await pool.run(session, { x: x3() });
    await pool.run(session, { x: x3() });
    expect(seen.map(([key]) => key)).toEqual([session.key, session.key]);
    for (const [, ms] of seen) expect(ms).toBeGreaterThanOrEqual(0);
    pool.onRunTimed = undefined;
    await pool.run(session, { x: x3() });
    expect(seen).toHaveLength(2);
  });

  it('calls onNativeStart and onNativeEnd around session creation, each run and release, also when onnxruntime throws', async () => {
    const pool = newPool();
    const calls: string[] = [];
    pool.onNativeStart = (call, model) => calls.push(`start ${call} ${model.path.endsWith('hooked.onnx')}`);
    pool.onRunTimed = () => calls.push('timed');
    pool.onNativeEnd = (call) => calls.push(`end ${call}`);
    const session = await pool.acquire(scaleModel('hooked', 2));
    await pool.run(session, { x: x3() });
    expect(calls).toEqual(['start create true', 'end create', 'start run true', 'timed', 'end run']);
    calls.length = 0;
    // Rank 2 where the graph declares rank 1: onnxruntime itself rejects the run.
    await expect(pool.run(session, { x: Tensor.float32([3, 1], new Float32Array(3)) })).rejects.toThrow();
    await pool.release(session);
    expect(calls).toEqual(['start run true', 'end run', 'start release true', 'end release']);
    calls.length = 0;
    const garbage = join(root, 'hooked-garbage.onnx');
    writeFileSync(garbage, 'not a model');
    await expect(pool.acquire(garbage)).rejects.toThrow(/Cannot load model/);
    expect(calls).toEqual(['start create false', 'end create']);
  });

  it('keeps a call out of onnxruntime when onNativeStart throws', async () => {
    const pool = newPool();
    const session = await pool.acquire(scaleModel('refused', 2));
    let ended = 0;
    let timed = 0;
    pool.onNativeStart = () => {
      throw new Error('stopping');
    };
    pool.onNativeEnd = () => ended++;
    pool.onRunTimed = () => timed++;
    await expect(pool.run(session, { x: x3() })).rejects.toThrow('stopping');
    await expect(pool.acquire(scaleModel('refused-new', 2))).rejects.toThrow(/stopping/);
    expect([ended, timed, pool.stats().sessions]).toEqual([0, 0, 1]);
    // The queue is not wedged: the next run goes through once the hook allows it.
    pool.onNativeStart = undefined;
    const { y } = await pool.run(session, { x: x3() });
    expect([...(y!.data as Float32Array)]).toEqual([2, 4, 6]);
    expect([ended, timed]).toEqual([1, 1]);
  });

  it('shares one creation between concurrent acquires', async () => {
    const pool = newPool();
    const path = scaleModel('concurrent', 3);
    const [a, b] = await Promise.all([pool.acquire(path), pool.acquire(path)]);
    expect(a).toBe(b);
    expect(pool.stats().sessions).toBe(1);
  });

  it('evicts the least recently used session over the memory budget and re-creates it on use', async () => {
    const pool = newPool({ memoryBudgetBytes: 150 });
    const p1 = scaleModel('lru1', 1);
    const p2 = scaleModel('lru2', 2);
    const p3 = scaleModel('lru3', 3);
    const s1 = await pool.acquire({ path: p1, weightBytes: 60 });
    await pool.acquire({ path: p2, weightBytes: 60 });
    await pool.run(s1, { x: x3() }); // s1 is now more recent than s2
    await pool.acquire({ path: p3, weightBytes: 60 });
    expect(pool.stats()).toEqual({ sessions: 2, estimatedBytes: 120, budgetBytes: 150 });
    expect(pool.providersInUse().map((u) => u.model).sort()).toEqual([p1, p3].sort());
    await pool.acquire({ path: p2, weightBytes: 60 }); // evicts s1 now
    expect(pool.providersInUse().map((u) => u.model).sort()).toEqual([p2, p3].sort());
    const { y } = await pool.run(s1, { x: x3() }); // the stale handle still works
    expect([...(y!.data as Float32Array)]).toEqual([1, 2, 3]);
  });

  it('falls back to CPU when a requested provider cannot start, logs one line and reports it', async () => {
    const lines: string[] = [];
    const pool = newPool({ log: (l) => lines.push(l) });
    const path = scaleModel('fallback', 5);
    const cuda = await pool.acquire(path, { provider: 'cuda' });
    expect(cuda.requestedProvider).toBe('cuda');
    expect(cuda.provider).toBe('cpu');
    const webgpu = await pool.acquire(path, { provider: 'webgpu' });
    expect(webgpu.provider).toBe('cpu');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[session\] cuda provider unavailable for .*fallback\.onnx \(.+\); using cpu$/);
    expect(lines[1]).toMatch(/webgpu provider unavailable/);
    const uses = pool.providersInUse();
    expect(uses.map((u) => [u.requested, u.actual])).toEqual([
      ['cuda', 'cpu'],
      ['webgpu', 'cpu'],
    ]);
    expect(uses[0]!.fallbackReason).toBeTruthy();
    const { y } = await pool.run(cuda, { x: x3() });
    expect([...(y!.data as Float32Array)]).toEqual([5, 10, 15]);
  });

  it('names the model when it cannot be loaded', async () => {
    const pool = newPool();
    const bad = join(root, 'garbage.onnx');
    writeFileSync(bad, 'not a model');
    await expect(pool.acquire(bad)).rejects.toThrow(/Cannot load model .*garbage\.onnx/);
    await expect(pool.acquire(join(root, 'absent.onnx'))).rejects.toThrow(/Cannot load model .*absent\.onnx/);
  });

  it('queues runs per session and releases only after queued runs finish', async () => {
    const pool = newPool();
    const path = scaleModel('heavy', 1, true);
    const s = await pool.acquire(path);
    const input = Tensor.float32([256], new Float32Array(256).fill(0.01));
    const order: number[] = [];
    const runs = [0, 1, 2].map((i) => pool.run(s, { x: input }).then((r) => (order.push(i), r)));
    const released = pool.releaseAll();
    const results = await Promise.all(runs);
    await released;
    expect(order).toEqual([0, 1, 2]);
    for (const r of results) expect((r.y!.data as Float32Array)[0]).toBeCloseTo(0.01, 6);
    expect(pool.stats().sessions).toBe(0);
  });

  it('releases one model (all its option variants) and keeps the others', async () => {
    const pool = newPool();
    const p1 = scaleModel('rel1', 1);
    const p2 = scaleModel('rel2', 2);
    const a = await pool.acquire(p1);
    await pool.acquire(p1, { intraOpNumThreads: 1 });
    await pool.acquire(p2);
    expect(pool.stats().sessions).toBe(3);
    await pool.release(a);
    expect(pool.providersInUse().map((u) => u.model)).toEqual([p2]);
  });

  it('refuses work after close()', async () => {
    const pool = newPool();
    await pool.close();
    await expect(pool.acquire(scaleModel('closed', 1))).rejects.toThrow(/closed/);
  });
});
