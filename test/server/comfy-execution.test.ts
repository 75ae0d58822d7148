/**
 * ComfyUI's own black-box style (tests/execution): only /prompt, /history and /ws against a real server that loads
 * the engine test pack (nodes/testing) through `extraPacks`, checking caching, lazy branches, errors and progress as a
 * ComfyUI client sees them.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, getJson, postJson, startTestServer } from '../../packages/server/src/test-support/harness.ts';
import type { TestServer } from '../../packages/server/src/test-support/harness.ts';

const TESTING_PACK = fileURLToPath(new URL('../../nodes/testing/src/index.ts', import.meta.url));
let server: TestServer;
let ws: TestClient;

beforeAll(async () => {
  server = await startTestServer({ extraPacks: [TESTING_PACK] });
  ws = await TestClient.connect(server, 'comfy');
});
afterAll(async () => {
  ws?.close();
  await server?.dispose();
});

async function run(prompt: object): Promise<{ id: string; history: any }> {
  const r = await postJson(`${server.url}/prompt`, { prompt, client_id: 'comfy' });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const id = r.body.prompt_id as string;
  await ws.waitForEnd(id);
  return { id, history: (await getJson(`${server.url}/history/${id}`)).body[id] };
}

const graph = (a: number, b: number) => ({
  '1': { class_type: 'TestConstant', inputs: { value: a } },
  '2': { class_type: 'TestConstant', inputs: { value: b } },
  '3': { class_type: 'TestAdd', inputs: { a: ['1', 0], b: ['2', 0] } },
  '4': { class_type: 'TestOutput', inputs: { value: ['3', 0] } },
});

describe('ComfyUI execution semantics over HTTP/WS', () => {
  it('runs, then serves an identical prompt from the cache and re-runs only what a change touches', async () => {
    const first = await run(graph(2, 3));
    expect(first.history.outputs['4']).toEqual({ text: [5] });
    const again = await run(graph(2, 3));
    const cached = ws.ofPrompt(again.id).find((m) => m.type === 'execution_cached')!;
    expect((cached.data.nodes as string[]).sort()).toEqual(['1', '2', '3', '4']);
    expect(ws.ofPrompt(again.id).some((m) => m.type === 'executed')).toBe(true);
    const changed = await run(graph(2, 4));
    expect(changed.history.outputs['4']).toEqual({ text: [6] });
    const executed = ws.ofPrompt(changed.id).filter((m) => m.type === 'executing' && m.data.node !== null).map((m) => m.data.node);
    expect(executed).not.toContain('1');
    expect(executed).toContain('3');
  });

  it('reports progress and errors the way ComfyUI clients expect', async () => {
    const p = await run({ '1': { class_type: 'TestProgress', inputs: { steps: 4, ms: 1 } }, '2': { class_type: 'TestOutput', inputs: { value: ['1', 0] } } });
    const progress = ws.ofPrompt(p.id).filter((m) => m.type === 'progress');
    expect(progress.map((m) => m.data.value)).toEqual([1, 2, 3, 4]);
    expect(progress.every((m) => m.data.node === '1' && m.data.max === 4)).toBe(true);

    const e = await run({ '1': { class_type: 'TestError', inputs: { message: 'nope' } }, '2': { class_type: 'TestOutput', inputs: { value: ['1', 0] } } });
    expect(e.history.status.status_str).toBe('error');
    const err = ws.ofPrompt(e.id).find((m) => m.type === 'execution_error')!;
    expect(err.data).toMatchObject({ node_id: '1', node_type: 'TestError' });
  });

  it('validates partial_execution_targets and runs only the chosen output', async () => {
    const prompt = { ...graph(1, 1), '5': { class_type: 'TestOutput', inputs: { value: ['1', 0] } } };
    const r = await postJson(`${server.url}/prompt`, { prompt, client_id: 'comfy', partial_execution_targets: ['5'] });
    expect(r.status).toBe(200);
    await ws.waitForEnd(r.body.prompt_id);
    const h = (await getJson(`${server.url}/history/${r.body.prompt_id}`)).body[r.body.prompt_id];
    expect(Object.keys(h.outputs)).toEqual(['5']);
    expect(h.prompt[4]).toEqual(['5']);
  });
});
