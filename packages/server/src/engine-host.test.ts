import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionEvent } from '@uso-studio/core';
import { EngineHost } from './engine-host.ts';
import { prepareDataDir } from './data-dir.ts';
import { TEST_PACK, tempDataDir } from './test-support/harness.ts';
import { ORT_RUN_LOG } from './test-support/ort-pack.ts';

let host: EngineHost;
beforeAll(async () => {
  const d = prepareDataDir(tempDataDir());
  host = new EngineHost({ packs: [TEST_PACK], env: { inputDir: d.inputDir, outputDir: d.outputDir, tempDir: d.tempDir, modelsDir: d.modelsDir } });
  await host.start();
});
afterAll(async () => {
  await host?.close();
});

const job = (promptId: string, prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>) => ({ promptId, prompt, extraData: {}, outputs: Object.keys(prompt) });

describe('EngineHost', () => {
  it('runs a prompt in the worker and relays its events, previews as bytes', async () => {
    const events: ExecutionEvent[] = [];
    const result = await host.run(job('p1', { '1': { class_type: 'SrvPreview', inputs: { count: 2 } } }), (e) => events.push(e));
    expect(result.status).toBe('success');
    expect(result.outputs['1']).toEqual({ previews: [2] });
    const previews = events.filter((e) => e.type === 'preview');
    expect(previews).toHaveLength(2);
    expect(previews[0]!.type === 'preview' && previews[0]!.data.bytes).toBeInstanceOf(Uint8Array);
    expect(host.busy).toBe(false);
  });

  it('stops a node that blocks its thread at its next progress call', async () => {
    let steps = 0;
    const running = host.run(job('p2', { '1': { class_type: 'SrvSleep', inputs: { ms: 30_000, steps: 3000, mode: 'block' } } }), (e) => {
      if (e.type === 'progress') steps++;
    });
    while (steps < 3) await new Promise((r) => setTimeout(r, 5));
    expect(host.interrupt('someone-else')).toBe(false);
    const atInterrupt = steps;
    expect(host.interrupt('p2')).toBe(true);
    const result = await running;
    expect(result.status).toBe('interrupted');
    // 10 ms per step: the flag is read at the next progress call, so at most a step or two (plus messages already in
    // flight) get through.
    expect(steps - atInterrupt).toBeLessThanOrEqual(3);
  });

  it('turns a worker crash into an error result and restarts the worker', async () => {
    const before = host.restarts;
    const result = await host.run(job('p3', { '1': { class_type: 'SrvCrash', inputs: {} } }), () => {});
    expect(result.status).toBe('error');
    expect(result.error?.type).toBe('WorkerCrashed');
    expect(host.restarts).toBe(before + 1);
    const next = await host.run(job('p4', { '1': { class_type: 'SrvAdd', inputs: { b: 2 } }, '2': { class_type: 'SrvSleep', inputs: { ms: 0, steps: 1, mode: 'async', value: ['1', 0] } } }), () => {});
    expect(next.status).toBe('success');
    await host.free(true, true);
  });
});

describe('EngineHost cache setting', () => {
  it("keeps results across prompts by the server's cache policy", async () => {
    const add = (b: number) => ({ '1': { class_type: 'SrvAdd', inputs: { b } } });
    const cachedOnThirdRun = async (cache?: { policy: 'lru'; maxEntries: number }) => {
      const d = prepareDataDir(tempDataDir());
      const h = new EngineHost({ packs: [TEST_PACK], env: { inputDir: d.inputDir, outputDir: d.outputDir, tempDir: d.tempDir, modelsDir: d.modelsDir }, ...(cache ? { cache } : {}) });
      try {
        await h.run(job('a1', add(2)), () => {});
        await h.run(job('b1', add(3)), () => {});
        const third = await h.run(job('a2', add(2)), () => {});
        return (third.messages.find(([type]) => type === 'execution_cached')?.[1] as { nodes: string[] }).nodes;
      } finally {
        await h.close();
        rmSync(d.root, { recursive: true, force: true });
      }
    };
    // ComfyUI's default keeps only the last prompt's results; an LRU keeps older ones.
    expect(await cachedOnThirdRun()).toEqual([]);
    expect(await cachedOnThirdRun({ policy: 'lru', maxEntries: 10 })).toEqual(['1']);
  }, 30_000);
});

describe('EngineHost.free', () => {
  it('releases the packs\' onnxruntime sessions on unload_models, and they load again on next use', async () => {
    const d = prepareDataDir(tempDataDir());
    const ortPack = fileURLToPath(new URL('./test-support/ort-pack.ts', import.meta.url));
    const ortHost = new EngineHost({ packs: [ortPack], env: { inputDir: d.inputDir, outputDir: d.outputDir, tempDir: d.tempDir, modelsDir: d.modelsDir } });
    await ortHost.start();
    const matmul = { '1': { class_type: 'SrvOrtMatMul', inputs: { size: 8, depth: 2 } } };
    const calls = () =>
      readFileSync(join(d.tempDir, ORT_RUN_LOG), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; call: string }).filter((c) => c.event === 'end').map((c) => c.call);
    try {
      expect((await ortHost.run(job('o1', matmul), () => {})).status).toBe('success');
      expect(calls()).toEqual(['create', 'run']);
      await ortHost.free(false, true); // free_memory alone keeps models loaded
      expect(calls()).toEqual(['create', 'run']);
      await ortHost.free(true, false);
      expect(calls()).toEqual(['create', 'run', 'release']);
      expect((await ortHost.run(job('o2', matmul), () => {})).status).toBe('success');
      expect(calls()).toEqual(['create', 'run', 'release', 'create', 'run']);
    } finally {
      await ortHost.close();
      rmSync(d.root, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('EngineHost.close', () => {
  // In a child process: terminate() inside onnxruntime (a run, or a session's creation) would abort the whole process
  // (exit 134), which no in-process assertion could observe.
  it.each([
    ['a run', 'run'],
    ['a session creation', 'create'],
  ] as const)('waits for %s inside onnxruntime past the grace period, then stops the worker without aborting the process', async (_, mode) => {
    const dataDir = tempDataDir();
    const script = fileURLToPath(new URL('./test-support/close-during-inference.ts', import.meta.url));
    const graceMs = 100;
    const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir, String(graceMs), mode], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    rmSync(dataDir, { recursive: true, force: true });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const [json, last] = stdout.trim().split('\n');
    expect(last).toBe('survived');
    const report = JSON.parse(json!) as { closeStarted: number; closeEnded: number; calls: { event: string; call: string; at: number }[] };
    const start = report.calls.find((c) => c.event === 'start' && c.call === mode)!;
    const end = report.calls.find((c) => c.event === 'end' && c.call === mode)!;
    expect(end).toBeDefined();
    // close() began inside the call, the call outlasted the grace period, and close() returned only after it ended.
    expect(start.at).toBeLessThanOrEqual(report.closeStarted);
    expect(end.at).toBeGreaterThan(report.closeStarted + graceMs);
    expect(report.closeEnded).toBeGreaterThanOrEqual(end.at);
    // Every native call that started also ended: the worker was never cut off inside onnxruntime.
    expect(report.calls.filter((c) => c.event === 'end')).toHaveLength(report.calls.filter((c) => c.event === 'start').length);
  }, 60_000);

  it('still terminates a node that hangs in JavaScript once the grace period is over', async () => {
    const d = prepareDataDir(tempDataDir());
    const hung = new EngineHost({ packs: [TEST_PACK], env: { inputDir: d.inputDir, outputDir: d.outputDir, tempDir: d.tempDir, modelsDir: d.modelsDir } });
    await hung.start();
    let executing = false;
    // One 60 s step blocks the thread without a progress call, so neither the flag nor the message reaches it.
    const running = hung.run(job('hang', { '1': { class_type: 'SrvSleep', inputs: { ms: 60_000, steps: 1, mode: 'block' } } }), (e) => {
      if (e.type === 'executing' && e.data.node === '1') executing = true;
    });
    while (!executing) await new Promise((r) => setTimeout(r, 5));
    expect(hung.inNativeCode).toBe(false);
    const started = Date.now();
    await hung.close(100);
    expect(Date.now() - started).toBeLessThan(30_000);
    const result = await running;
    expect(result.error?.type).toBe('WorkerCrashed');
    rmSync(d.root, { recursive: true, force: true });
  }, 20_000);
});
