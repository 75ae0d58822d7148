/**
 * Wire details checked against ComfyUI's execution.py, main.py, server.py and comfy_execution/progress.py.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, chainPrompt, getJson, postJson, startTestServer } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.dispose();
});

async function run(client: TestClient, prompt: unknown, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await postJson(`${server.url}/prompt`, { prompt, client_id: client.ws.url.split('clientId=')[1], ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await client.waitForEnd(res.body.prompt_id as string);
  return res.body.prompt_id as string;
}

describe('execution events', () => {
  it('execution_error: current_outputs lists cached node ids, exception_message is the error text alone', async () => {
    const client = await TestClient.connect(server, 'err');
    try {
      const prompt = { '1': { class_type: 'SrvAdd', inputs: { b: 5 } }, '2': { class_type: 'SrvSleep', inputs: { ms: 0, steps: 1, mode: 'async', value: ['1', 0] } } };
      await run(client, prompt);
      const failing = { ...prompt, '3': { class_type: 'SrvError', inputs: { message: 'planned failure' } } };
      const id = await run(client, failing);
      const error = client.ofPrompt(id).find((m) => m.type === 'execution_error')!.data;
      expect(error.exception_message).toBe('planned failure');
      expect(error.node_id).toBe('3');
      expect(error.node_type).toBe('SrvError');
      expect(Array.isArray(error.current_outputs)).toBe(true);
      expect(error.current_outputs).toContain('1');
      const hist = await getJson(`${server.url}/history/${id}`);
      const stored = (hist.body[id].status.messages as [string, Record<string, unknown>][]).find(([t]) => t === 'execution_error')![1];
      expect(stored.exception_message).toBe('planned failure');
    } finally {
      client.close();
    }
  });

  it('progress_state lists every node that left pending, with parent_node_id and real_node_id', async () => {
    const client = await TestClient.connect(server, 'progress');
    try {
      const id = await run(client, chainPrompt(4));
      const states = client.ofPrompt(id).filter((m) => m.type === 'progress_state');
      const last = states.at(-1)!.data.nodes as Record<string, Record<string, unknown>>;
      expect(Object.keys(last).sort()).toEqual(['1', '2', '3', '4']);
      for (const [nodeId, s] of Object.entries(last)) {
        expect(s).toMatchObject({ node_id: nodeId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId, prompt_id: id, state: 'finished' });
      }
      // Each message carries the nodes finished before it, not only the one that changed.
      const sizes = states.map((m) => Object.keys(m.data.nodes as object).length);
      expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    } finally {
      client.close();
    }
  });

  it('status with the queue length comes before execution_start, and again at the end of a fully cached run', async () => {
    const client = await TestClient.connect(server, 'status');
    try {
      const cachedPrompt = { '1': { class_type: 'SrvAdd', inputs: { b: 8 } }, '2': { class_type: 'SrvShow', inputs: { value: ['1', 0] } } };
      await run(client, cachedPrompt);
      const mark = client.messages.length;
      const again = await postJson(`${server.url}/prompt`, { prompt: cachedPrompt, client_id: 'status' });
      await client.waitForEnd(again.body.prompt_id);
      await client.waitFor((m) => m.type === 'status' && client.messages.indexOf(m) > mark && (m.data.status as any).exec_info.queue_remaining === 0);
      const after = client.messages.slice(mark);
      const cached = after.find((m) => m.type === 'execution_cached')!;
      expect(cached.data.nodes).toEqual(['1', '2']);
      const startAt = after.findIndex((m) => m.type === 'execution_start');
      const busy = after.findIndex((m) => m.type === 'status' && (m.data.status as any).exec_info.queue_remaining === 1);
      expect(busy).toBeGreaterThanOrEqual(0);
      expect(busy).toBeLessThan(startAt);
    } finally {
      client.close();
    }
  });

  it('a prompt without client_id sends no execution events to anyone (status still goes to all)', async () => {
    const watcher = await TestClient.connect(server, 'watcher');
    try {
      const res = await postJson(`${server.url}/prompt`, { prompt: chainPrompt(3, true) });
      const id = res.body.prompt_id as string;
      for (let i = 0; i < 100; i++) {
        const h = await getJson(`${server.url}/history/${id}`);
        if (h.body[id]) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await watcher.waitFor((m) => m.type === 'status' && (m.data.status as any).exec_info.queue_remaining === 0 && watcher.messages.length > 1);
      expect(watcher.messages.filter((m) => m.data?.prompt_id === id)).toEqual([]);
      expect(watcher.binary).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it("history meta has ComfyUI's node_id, display_node, parent_node, real_node_id", async () => {
    const client = await TestClient.connect(server, 'meta');
    try {
      const id = await run(client, chainPrompt(2, true));
      const hist = await getJson(`${server.url}/history/${id}`);
      expect(hist.body[id].meta).toEqual({ '2': { node_id: '2', display_node: '2', parent_node: null, real_node_id: '2' } });
    } finally {
      client.close();
    }
  });
});

describe('previews', () => {
  it("are off by default (ComfyUI's --preview-method none) and on when the prompt asks in extra_data.preview_method", async () => {
    const client = await TestClient.connect(server, 'pv');
    try {
      const off = await run(client, { '1': { class_type: 'SrvStepPreview', inputs: { seed: 1 } } });
      expect(client.ofPrompt(off).find((m) => m.type === 'executed')!.data.output).toEqual({ wanted: [false] });
      expect(client.binary).toHaveLength(0);
      const on = await run(client, { '1': { class_type: 'SrvStepPreview', inputs: { seed: 2 } } }, { extra_data: { preview_method: 'auto' } });
      expect(client.ofPrompt(on).find((m) => m.type === 'executed')!.data.output).toEqual({ wanted: [true] });
      expect(client.binary).toHaveLength(1);
      const asDefault = await run(client, { '1': { class_type: 'SrvStepPreview', inputs: { seed: 3 } } }, { extra_data: { preview_method: 'default' } });
      expect(client.ofPrompt(asDefault).find((m) => m.type === 'executed')!.data.output).toEqual({ wanted: [false] });
    } finally {
      client.close();
    }
  });

  it('are on for every prompt with --preview-method auto, unless a prompt says none; type 4 carries parent_node_id', async () => {
    const auto = await startTestServer({ previewMethod: 'auto' });
    const client = await TestClient.connect(auto, 'pv4');
    try {
      client.ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      await client.waitFor((m) => m.type === 'feature_flags');
      const res = await postJson(`${auto.url}/prompt`, { prompt: { '1': { class_type: 'SrvStepPreview', inputs: { seed: 1 } } }, client_id: 'pv4' });
      await client.waitForEnd(res.body.prompt_id);
      expect(client.binary).toHaveLength(1);
      const frame = client.binary[0]!;
      expect(frame.readUInt32BE(0)).toBe(4);
      const meta = JSON.parse(frame.subarray(8, 8 + frame.readUInt32BE(4)).toString());
      expect(meta).toMatchObject({ node_id: '1', display_node_id: '1', parent_node_id: null, real_node_id: '1', prompt_id: res.body.prompt_id });
      const none = await postJson(`${auto.url}/prompt`, { prompt: { '1': { class_type: 'SrvStepPreview', inputs: { seed: 2 } } }, client_id: 'pv4', extra_data: { preview_method: 'none' } });
      await client.waitForEnd(none.body.prompt_id);
      expect(client.binary).toHaveLength(1);
    } finally {
      client.close();
      await auto.dispose();
    }
  });
});

describe('HTTP details', () => {
  it('POST /interrupt, /free, /queue and /history answer 200 with an empty body, as ComfyUI does', async () => {
    for (const [path, body] of [['/interrupt', {}], ['/free', { unload_models: false }], ['/queue', { clear: true }], ['/history', { delete: ['x'] }]] as const) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toBe('');
    }
  });

  it("/view sends ComfyUI's Content-Disposition filename=\"name\"", async () => {
    const client = await TestClient.connect(server, 'view');
    try {
      const id = await run(client, chainPrompt(2, true));
      const image = ((await getJson(`${server.url}/history/${id}`)).body[id].outputs['2'].images as { filename: string }[])[0]!;
      const res = await fetch(`${server.url}/view?filename=${encodeURIComponent(image.filename)}&type=output`);
      expect(res.headers.get('content-disposition')).toBe(`filename="${image.filename}"`);
      const converted = await fetch(`${server.url}/view?filename=${encodeURIComponent(image.filename)}&type=output&channel=rgb`);
      expect(converted.headers.get('content-disposition')).toBe(`filename="${image.filename}"`);
    } finally {
      client.close();
    }
  });

  it("an unknown class is ComfyUI's invalid_prompt with empty extra_info", async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: { '7': { class_type: 'Nope', inputs: {} } } });
    expect(res).toEqual({
      status: 400,
      body: { error: { type: 'invalid_prompt', message: 'Cannot execute because node Nope does not exist.', details: "Node ID '#7'", extra_info: {} }, node_errors: {} },
    });
  });
});
