import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '@uso-studio/core';
import { EngineHost } from './engine-host.ts';
import { prepareDataDir } from './data-dir.ts';
import { TEST_PACK, tempDataDir } from './test-support/harness.ts';

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
