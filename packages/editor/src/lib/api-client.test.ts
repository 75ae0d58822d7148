import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, PromptRejectedError } from './api-client.ts';

// A real loopback HTTP server answering in ComfyUI's shapes; it records the requests it gets.
const requests: { method: string; url: string; body: string; type: string }[] = [];
let server: Server;
let api: ApiClient;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const text = await body(req);
    requests.push({ method: req.method!, url: req.url!, body: text, type: String(req.headers['content-type'] ?? '') });
    const json = (status: number, data: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/api/prompt' && req.method === 'POST') {
      const prompt = JSON.parse(text).prompt as Record<string, unknown>;
      if (prompt.bad) {
        return json(400, {
          error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
          node_errors: { '3': { errors: [{ type: 'required_input_missing', message: 'Required input is missing', details: 'model', extra_info: {} }], dependent_outputs: ['9'], class_type: 'KSampler' } },
        });
      }
      return json(200, { prompt_id: 'p-1', number: 7, node_errors: {} });
    }
    if (url.pathname === '/api/queue' && req.method === 'GET') {
      return json(200, { queue_running: [[5, 'r', {}, {}, []]], queue_pending: [[9, 'b', {}, {}, []], [6, 'a', {}, {}, []]] });
    }
    if (url.pathname === '/api/history') return json(200, { old: { prompt: [1], outputs: {}, status: {} }, new: { prompt: [2], outputs: {}, status: {} } });
    if (url.pathname === '/api/upload/image') return json(200, { name: 'cat (1).png', subfolder: '', type: 'input' });
    if (url.pathname === '/api/object_info') return json(200, { A: { name: 'A' } });
    if (url.pathname === '/api/models') return json(200, ['checkpoints', 'loras']);
    if (url.pathname === '/api/models/loras') return json(200, ['a.safetensors', 'styles/b.safetensors']);
    if (req.method === 'POST') return json(200, {});
    return json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('ApiClient', () => {
  it('queues a prompt with its client id and workflow', async () => {
    const res = await api.queuePrompt({ prompt: { '1': {} }, client_id: 'c1', extra_data: { extra_pnginfo: { workflow: { nodes: [] } } } });
    expect(res).toEqual({ prompt_id: 'p-1', number: 7, node_errors: {} });
    const sent = JSON.parse(requests.at(-1)!.body);
    expect(sent.client_id).toBe('c1');
    expect(sent.extra_data.extra_pnginfo.workflow).toEqual({ nodes: [] });
  });

  it('turns a 400 into PromptRejectedError carrying node errors', async () => {
    const err = await api.queuePrompt({ prompt: { bad: true }, client_id: 'c1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptRejectedError);
    const rejected = err as PromptRejectedError;
    expect(rejected.error.type).toBe('prompt_outputs_failed_validation');
    expect(rejected.nodeErrors['3']!.errors[0]!.type).toBe('required_input_missing');
  });

  it('lists the queue in run order and history newest first', async () => {
    const q = await api.getQueue();
    expect(q.running.map((i) => i[1])).toEqual(['r']);
    expect(q.pending.map((i) => i[1])).toEqual(['a', 'b']);
    expect((await api.getHistory(10)).map((h) => h.promptId)).toEqual(['new', 'old']);
    expect(requests.at(-1)!.url).toBe('/api/history?max_items=10');
  });

  it('sends cancel, clear and interrupt in ComfyUI\'s shapes', async () => {
    await api.cancelPending(['a']);
    expect(JSON.parse(requests.at(-1)!.body)).toEqual({ delete: ['a'] });
    await api.clearQueue();
    expect(JSON.parse(requests.at(-1)!.body)).toEqual({ clear: true });
    await api.interrupt('r');
    expect(requests.at(-1)!.url).toBe('/api/interrupt');
    expect(JSON.parse(requests.at(-1)!.body)).toEqual({ prompt_id: 'r' });
    await api.clearHistory();
    expect(requests.at(-1)!.url).toBe('/api/history');
  });

  it('uploads multipart and returns the stored name', async () => {
    const res = await api.uploadImage(new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' }), 'cat.png');
    expect(res.name).toBe('cat (1).png');
    expect(requests.at(-1)!.type).toMatch(/^multipart\/form-data/);
    expect(requests.at(-1)!.body).toContain('name="image"; filename="cat.png"');
  });

  it('lists model folders and one folder\'s files, and says which route failed', async () => {
    expect(await api.modelFolders()).toEqual(['checkpoints', 'loras']);
    expect(await api.models('loras')).toEqual(['a.safetensors', 'styles/b.safetensors']);
    await expect(api.models('nope')).rejects.toThrow('GET /models/nope failed: 404');
  });

  it('builds view and ws URLs', async () => {
    expect(await api.objectInfo()).toEqual({ A: { name: 'A' } });
    expect(api.viewUrl({ filename: 'a b.png', subfolder: 's', type: 'output' }, true)).toMatch(/\/api\/view\?filename=a\+b\.png&type=output&subfolder=s&preview=webp%3B90$/);
    expect(new ApiClient('').wsUrl({ protocol: 'https:', host: 'h:1' })).toBe('wss://h:1/ws');
    expect(new ApiClient('http://h:2').wsUrl({ protocol: 'http:', host: 'x' })).toBe('ws://h:2/ws');
  });
});
