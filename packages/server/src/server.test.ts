import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, chainPrompt, getJson, postJson, sleepPrompt, startTestServer } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';
import type { EngineHost } from './engine-host.ts';

let server: TestServer;
let client: TestClient;

beforeAll(async () => {
  server = await startTestServer();
  client = await TestClient.connect(server, 'alice');
});
afterAll(async () => {
  client?.close();
  await server?.dispose();
});

describe('ComfyUI routes and events', () => {
  it('sends status with the sid on connect', async () => {
    const status = await client.waitFor((m) => m.type === 'status');
    expect(status.data).toEqual({ status: { exec_info: { queue_remaining: 0 } }, sid: 'alice' });
  });

  it('runs a prompt: 200 with id, events to the client, history with file references, /view serves the file', async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: chainPrompt(4, true), client_id: 'alice' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ prompt_id: expect.any(String), number: expect.any(Number), node_errors: {} });
    const id = res.body.prompt_id as string;
    await client.waitForEnd(id);
    const types = client.ofPrompt(id).map((m) => m.type);
    expect(types[0]).toBe('execution_start');
    expect(types).toContain('executing');
    expect(types).toContain('executed');
    // The completion event comes before the end marker, which comes last.
    expect(types.indexOf('execution_success')).toBeLessThan(types.lastIndexOf('executing'));
    const executed = client.ofPrompt(id).find((m) => m.type === 'executed')!;
    const image = (executed.data.output as { images: { filename: string; subfolder: string; type: string }[] }).images[0]!;

    // History is written before the end event reaches the client.
    const hist = await getJson(`${server.url}/history/${id}`);
    expect(hist.body[id].status).toMatchObject({ status_str: 'success', completed: true });
    expect(hist.body[id].outputs['4'].images[0]).toEqual(image);
    expect(hist.body[id].prompt[1]).toBe(id);
    expect(hist.body[id].status.messages.map((m: [string]) => m[0])).toContain('execution_success');

    const view = await fetch(`${server.url}/view?filename=${encodeURIComponent(image.filename)}&type=output&subfolder=`);
    expect(view.status).toBe(200);
    expect(view.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await view.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('serves every route under /api too', async () => {
    for (const path of ['/prompt', '/queue', '/history', '/object_info', '/features', '/system_stats', '/models']) {
      const [a, b] = await Promise.all([getJson(`${server.url}${path}`), getJson(`${server.url}/api${path}`)]);
      expect(a.status, path).toBe(200);
      expect(b.status, `/api${path}`).toBe(200);
    }
    const p = await postJson(`${server.url}/api/prompt`, { prompt: chainPrompt(2) });
    expect(p.status).toBe(200);
    await server.queue.idle();
  });

  it('answers 400 with ComfyUI error shapes for invalid prompts', async () => {
    const none = await postJson(`${server.url}/prompt`, { client_id: 'alice' });
    expect(none.status).toBe(400);
    expect(none.body.error.type).toBe('no_prompt');
    const unknown = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'Nope', inputs: {} } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.type).toBe('invalid_prompt');
    expect(unknown.body).toHaveProperty('node_errors');
    const range = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'SrvSleep', inputs: { ms: -5, steps: 1, mode: 'async' } } } });
    expect(range.status).toBe(400);
    expect(range.body.error.type).toBe('prompt_outputs_failed_validation');
    expect(range.body.node_errors['1'].errors[0].type).toBe('value_smaller_than_min');
  });

  it('records a failing node as an error in history and sends execution_error', async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'SrvError', inputs: { message: 'kaput' } } }, client_id: 'alice' });
    const id = res.body.prompt_id as string;
    await client.waitForEnd(id);
    const err = client.ofPrompt(id).find((m) => m.type === 'execution_error')!;
    expect(err.data).toMatchObject({ node_id: '1', node_type: 'SrvError' });
    expect(String(err.data.exception_message)).toContain('kaput');
    const hist = await getJson(`${server.url}/history/${id}`);
    expect(hist.body[id].status.status_str).toBe('error');
  });

  it('GET /queue lists running and pending items; POST /queue deletes and clears pending', async () => {
    server.queue.pause();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(10) })).body.prompt_id);
    let q = await getJson(`${server.url}/queue`);
    expect(q.body.queue_running).toEqual([]);
    expect(q.body.queue_pending.map((item: unknown[]) => item[1])).toEqual(ids);
    const item = q.body.queue_pending[0];
    expect(item).toHaveLength(5);
    expect(item[4]).toEqual(['1']);
    expect((await getJson(`${server.url}/prompt`)).body).toEqual({ exec_info: { queue_remaining: 3 } });
    await postJson(`${server.url}/queue`, { delete: [ids[1]] });
    q = await getJson(`${server.url}/queue`);
    expect(q.body.queue_pending.map((i: unknown[]) => i[1])).toEqual([ids[0], ids[2]]);
    await postJson(`${server.url}/queue`, { clear: true });
    q = await getJson(`${server.url}/queue`);
    expect(q.body.queue_pending).toEqual([]);
    server.queue.resume();
  });

  it('runs by number: front:true goes first, then lower numbers, ties in arrival order', async () => {
    server.queue.pause();
    const a = (await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1), client_id: 'alice' })).body.prompt_id;
    const b = (await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1), client_id: 'alice', front: true })).body.prompt_id;
    const c = (await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1), client_id: 'alice', number: -1e9 })).body.prompt_id;
    const q = await getJson(`${server.url}/queue`);
    expect(q.body.queue_pending.map((i: unknown[]) => i[1])).toEqual([c, b, a]);
    server.queue.resume();
    await server.queue.idle();
    const order = client.messages.filter((m) => m.type === 'execution_start' && [a, b, c].includes(m.data.prompt_id as string)).map((m) => m.data.prompt_id);
    expect(order).toEqual([c, b, a]);
  });

  it('interrupts globally and by prompt id (only the running one)', async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(20_000, { steps: 2000, mode: 'block' }), client_id: 'alice' });
    const id = res.body.prompt_id as string;
    await client.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id);
    // A different id does nothing.
    await postJson(`${server.url}/interrupt`, { prompt_id: 'not-running' });
    expect(server.queue.runningPromptId).toBe(id);
    const t0 = Date.now();
    await postJson(`${server.url}/interrupt`, { prompt_id: id });
    await client.waitForEnd(id);
    // The node blocks its thread for 10 ms per step: the flag stops it at the next progress call.
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(client.ofPrompt(id).some((m) => m.type === 'execution_interrupted')).toBe(true);

    const res2 = await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(20_000, { steps: 100 }), client_id: 'alice' });
    const id2 = res2.body.prompt_id as string;
    await client.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id2);
    const empty = await fetch(`${server.url}/interrupt`, { method: 'POST' });
    expect(empty.status).toBe(200);
    await client.waitForEnd(id2);
    const hist = await getJson(`${server.url}/history/${id2}`);
    expect(hist.body[id2].status).toMatchObject({ status_str: 'error', completed: false });
  });

  it('a client connecting while its prompt runs learns what is running', async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1500, { steps: 30 }), client_id: 'bob' });
    const id = res.body.prompt_id as string;
    await new Promise((r) => setTimeout(r, 300));
    const bob = await TestClient.connect(server, 'bob');
    try {
      const executing = await bob.waitFor((m) => m.type === 'executing' && m.data.prompt_id === id);
      expect(executing.data.node).toBe('1');
      const status = bob.messages.find((m) => m.type === 'status')!;
      expect((status.data.status as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining).toBeGreaterThanOrEqual(1);
      await bob.waitForEnd(id);
    } finally {
      bob.close();
    }
  });

  it('sends previews as binary type 1, or type 4 after feature_flags', async () => {
    const plain = await TestClient.connect(server, 'p1');
    const meta = await TestClient.connect(server, 'p4');
    meta.ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    await meta.waitFor((m) => m.type === 'feature_flags');
    try {
      const r1 = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'SrvPreview', inputs: { count: 2 } } }, client_id: 'p1' });
      const r4 = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'SrvPreview', inputs: { count: 1 } } }, client_id: 'p4' });
      await plain.waitForEnd(r1.body.prompt_id);
      await meta.waitForEnd(r4.body.prompt_id);
      expect(plain.binary).toHaveLength(2);
      expect(plain.binary[0]!.readUInt32BE(0)).toBe(1);
      expect(plain.binary[0]!.readUInt32BE(4)).toBe(2);
      expect(plain.binary[0]!.subarray(9, 12).toString()).toBe('PNG');
      expect(meta.binary).toHaveLength(1);
      const f = meta.binary[0]!;
      expect(f.readUInt32BE(0)).toBe(4);
      const len = f.readUInt32BE(4);
      const json = JSON.parse(f.subarray(8, 8 + len).toString());
      expect(json).toMatchObject({ node_id: '1', display_node_id: '1', prompt_id: r4.body.prompt_id, image_type: 'image/png' });
      expect(f.subarray(8 + len + 1, 8 + len + 4).toString()).toBe('PNG');
    } finally {
      plain.close();
      meta.close();
    }
  });

  it('restarts a crashed worker, records the prompt failed, and carries on', async () => {
    const crash = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'SrvCrash', inputs: {} } }, client_id: 'alice' });
    const after = await postJson(`${server.url}/prompt`, { prompt: chainPrompt(3), client_id: 'alice' });
    await client.waitForEnd(crash.body.prompt_id);
    const err = client.ofPrompt(crash.body.prompt_id).find((m) => m.type === 'execution_error')!;
    expect(err.data.exception_type).toBe('WorkerCrashed');
    expect(String(err.data.exception_message)).toContain('simulated worker crash');
    await client.waitForEnd(after.body.prompt_id);
    const hist = await getJson(`${server.url}/history`);
    expect(hist.body[crash.body.prompt_id].status.status_str).toBe('error');
    expect(hist.body[after.body.prompt_id].status.status_str).toBe('success');
    expect((server.engine as EngineHost).restarts).toBe(1);
  });

  it('pages history with max_items/offset, and deletes and clears it', async () => {
    const all = Object.keys((await getJson(`${server.url}/history`)).body);
    expect(all.length).toBeGreaterThan(4);
    expect(Object.keys((await getJson(`${server.url}/history?max_items=2`)).body)).toEqual(all.slice(-2));
    expect(Object.keys((await getJson(`${server.url}/history?max_items=2&offset=1`)).body)).toEqual(all.slice(1, 3));
    expect(Object.keys((await getJson(`${server.url}/history?offset=3`)).body)).toEqual(all.slice(3));
    expect((await getJson(`${server.url}/history/unknown-id`)).body).toEqual({});
    await postJson(`${server.url}/history`, { delete: [all[0]] });
    expect(Object.keys((await getJson(`${server.url}/history`)).body)).toEqual(all.slice(1));
    await postJson(`${server.url}/history`, { clear: true });
    expect((await getJson(`${server.url}/history`)).body).toEqual({});
  });

  it('serves object_info, features, system_stats, models and free', async () => {
    const info = await getJson(`${server.url}/object_info`);
    expect(info.body.SrvSleep).toMatchObject({ name: 'SrvSleep', output_node: true, python_module: 'server-test-support' });
    expect(info.body.SrvSleep.input.required.mode[0]).toEqual(['async', 'block']);
    expect((await getJson(`${server.url}/object_info/SrvAdd`)).body).toHaveProperty('SrvAdd');
    expect((await getJson(`${server.url}/object_info/Missing`)).body).toEqual({});
    expect((await getJson(`${server.url}/features`)).body).toEqual({ supports_preview_metadata: true, max_upload_size: 100 * 1024 * 1024 });
    const stats = (await getJson(`${server.url}/system_stats`)).body;
    expect(stats.system.ram_total).toBeGreaterThan(0);
    expect(stats.system.execution_providers).toEqual(['cpu']);
    expect(stats.devices[0]).toMatchObject({ name: 'cpu', type: 'cpu' });
    writeFileSync(join(server.dirs.modelsDir, 'placeholder.txt'), '');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(server.dirs.modelsDir, 'loras', 'sub'), { recursive: true });
    writeFileSync(join(server.dirs.modelsDir, 'loras', 'sub', 'style.safetensors'), 'x');
    const models = (await getJson(`${server.url}/models`)).body as string[];
    expect(models).toContain('loras');
    expect(models).toContain('checkpoints');
    expect((await getJson(`${server.url}/models/loras`)).body).toEqual(['sub/style.safetensors']);
    expect((await getJson(`${server.url}/models/vae`)).body).toEqual([]);
    expect((await getJson(`${server.url}/models/nope`)).status).toBe(404);
    expect((await getJson(`${server.url}/models/..%2Floras`)).status).toBe(404);
    expect((await postJson(`${server.url}/free`, { unload_models: true, free_memory: true })).status).toBe(200);
  });

  it('reports the execution providers the engine services have in use', async () => {
    const r = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'SrvUseProvider', inputs: { provider: 'cuda' } } }, client_id: 'alice' });
    await client.waitForEnd(r.body.prompt_id);
    const stats = (await getJson(`${server.url}/system_stats`)).body;
    expect(stats.system.execution_providers).toEqual(['cuda']);
    expect(stats.devices.map((d: { type: string }) => d.type)).toEqual(['cuda']);
  });

  it('answers 429 when the queue is full', async () => {
    const small = await startTestServer({ maxQueue: 2, executionPaused: true });
    try {
      expect((await postJson(`${small.url}/prompt`, { prompt: sleepPrompt(1) })).status).toBe(200);
      expect((await postJson(`${small.url}/prompt`, { prompt: sleepPrompt(1) })).status).toBe(200);
      const full = await postJson(`${small.url}/prompt`, { prompt: sleepPrompt(1) });
      expect(full.status).toBe(429);
      expect(full.body.error.type).toBe('queue_full');
      expect(full.body.error.message).toMatch(/queue is full/);
    } finally {
      await small.dispose();
    }
  });
});
