import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, SessionPool, Tensor } from '@uso-studio/runtime';
import { pack as comfyPack } from '@uso-studio/nodes-comfy';
import { claimForTermination, inNativeCode, nativeActivityTracker, STOPPING, wireNativeActivity } from './native-activity.ts';
import type { NativeActivityTracker } from './native-activity.ts';

const root = mkdtempSync(join(tmpdir(), 'native-activity-'));
const pools: SessionPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(root, { recursive: true, force: true });
});

const counter = () => new Int32Array(new SharedArrayBuffer(4));

/** A real pool with a session of y = 2x. */
async function doubler(): Promise<{ pool: SessionPool; run: () => Promise<number[]> }> {
  const g = new GraphBuilder({ name: 'double' });
  const x = g.input('x', 'float32', [3]);
  g.output(g.mul(x, g.scalar(2), 'y'), 'y', 'float32', [3]);
  const path = join(root, 'double.onnx');
  g.save(path);
  const pool = new SessionPool();
  pools.push(pool);
  const session = await pool.acquire(path);
  return {
    pool,
    run: async () => [...((await pool.run(session, { x: Tensor.float32([3], new Float32Array([1, 2, 3])) })).y!.data as Float32Array)],
  };
}

describe('native activity counter', () => {
  it('counts nested native calls and refuses new ones once claimed for termination', () => {
    const c = counter();
    const t = nativeActivityTracker(c);
    expect(inNativeCode(c)).toBe(false);
    t.enter();
    t.enter();
    expect(inNativeCode(c)).toBe(true);
    expect(claimForTermination(c)).toBe(false);
    t.leave();
    expect(claimForTermination(c)).toBe(false);
    t.leave();
    expect(inNativeCode(c)).toBe(false);
    expect(claimForTermination(c)).toBe(true);
    expect(c[0]).toBe(STOPPING);
    expect(() => t.enter()).toThrow(/being stopped/);
    expect(c[0]).toBe(STOPPING);
    // Claiming twice (close() polling again) stays true.
    expect(claimForTermination(c)).toBe(true);
  });
});

describe('wireNativeActivity', () => {
  it("tracks every native call of a SessionPool given as a service or as a service's pool, keeping hooks already set", async () => {
    const direct = await doubler();
    const nested = await doubler();
    const c = counter();
    const seenInside: number[] = [];
    const order: string[] = [];
    nested.pool.onNativeStart = (call) => order.push(`own start ${call} ${c[0]}`);
    nested.pool.onNativeEnd = (call) => order.push(`own end ${call} ${c[0]}`);
    for (const p of [direct.pool, nested.pool]) p.onRunTimed = () => seenInside.push(c[0]!);
    const reported: NativeActivityTracker[] = [];
    const services = {
      direct: direct.pool,
      models: { pool: nested.pool, other: 1 },
      again: { pool: nested.pool }, // the same pool under a second service is wired once
      custom: { nativeActivity: (t: NativeActivityTracker) => reported.push(t) },
      plain: { providersInUse: () => [] },
      nothing: null,
      number: 3,
    };
    expect(wireNativeActivity(services, nativeActivityTracker(c))).toBe(3);
    expect(reported).toHaveLength(1);

    expect(await direct.run()).toEqual([2, 4, 6]);
    expect(await nested.run()).toEqual([2, 4, 6]);
    // Inside onnxruntime (onRunTimed fires right after run() returns, before onNativeEnd) the counter is 1; after, 0.
    expect(seenInside).toEqual([1, 1]);
    expect(c[0]).toBe(0);
    // Session creation is tracked too, and hooks already set run inside the counted window.
    await nested.pool.acquire(join(root, 'double.onnx'), { intraOpNumThreads: 1 });
    expect(order).toEqual(['own start run 1', 'own end run 1', 'own start create 1', 'own end create 1']);
    expect(c[0]).toBe(0);

    // A reporter's tracker drives the same counter.
    reported[0]!.enter();
    expect(inNativeCode(c)).toBe(true);
    reported[0]!.leave();
  });

  it('keeps runs out of onnxruntime once the main thread has claimed the worker', async () => {
    const { pool, run } = await doubler();
    const c = counter();
    let ownStarts = 0;
    let timed = 0;
    pool.onNativeStart = () => ownStarts++;
    pool.onRunTimed = () => timed++;
    wireNativeActivity({ models: { pool } }, nativeActivityTracker(c));
    expect(claimForTermination(c)).toBe(true);
    await expect(run()).rejects.toThrow(/being stopped/);
    expect([ownStarts, timed, c[0]]).toEqual([0, 0, STOPPING]);
  });

  it('leaves the counter balanced when a hook already set throws', async () => {
    const { pool, run } = await doubler();
    const c = counter();
    pool.onNativeStart = () => {
      throw new Error('own hook failed');
    };
    wireNativeActivity({ pool: { pool } }, nativeActivityTracker(c));
    await expect(run()).rejects.toThrow('own hook failed');
    expect(c[0]).toBe(0);
  });

  it("wires the session pool of nodes/comfy's model service as the engine worker creates it", async () => {
    const created = await comfyPack.createServices!({ inputDir: root, outputDir: root, tempDir: root, modelsDir: root, cacheDir: root });
    try {
      const c = counter();
      expect(wireNativeActivity(created.services, nativeActivityTracker(c))).toBe(1);
      const pool = Object.values(created.services).map((s) => (s as { pool?: SessionPool }).pool).find((p) => p instanceof SessionPool);
      pool!.onNativeStart!('run', { path: 'x.onnx' });
      expect(inNativeCode(c)).toBe(true);
      pool!.onNativeEnd!('run', { path: 'x.onnx' });
      expect(c[0]).toBe(0);
    } finally {
      await created.dispose();
    }
  });
});
