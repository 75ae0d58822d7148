import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, sleepPrompt, startTestServer } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ executionPaused: true, maxBodyBytes: 64 * 1024 });
});
afterAll(async () => {
  await server?.dispose();
});

function post(path: string, body: string, contentType = 'application/json'): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const BODIES: [string, string][] = [
  ['broken JSON', '{"prompt": '],
  ['a bare string', '"hello"'],
  ['a number', '42'],
  ['null', 'null'],
  ['an array', '[1,2,3]'],
  ['prompt as a string', '{"prompt":"x"}'],
  ['prompt as an array', '{"prompt":[1]}'],
  ['node without class_type', '{"prompt":{"1":{"inputs":{}}}}'],
  ['node as a number', '{"prompt":{"1":5}}'],
  ['inputs as a list', '{"prompt":{"1":{"class_type":"SrvAdd","inputs":[1]}}}'],
  ['link to a missing node', '{"prompt":{"1":{"class_type":"SrvSleep","inputs":{"ms":1,"steps":1,"mode":"async","value":["9",0]}}}}'],
  ['self link', '{"prompt":{"1":{"class_type":"SrvSleep","inputs":{"ms":1,"steps":1,"mode":"async","value":["1",0]}}}}'],
  ['client_id as a number', '{"prompt":{},"client_id":5}'],
  ['front as a string', '{"prompt":{},"front":"yes"}'],
  ['number as an object', '{"prompt":{},"number":{}}'],
  ['prompt_id with a slash', '{"prompt":{},"prompt_id":"../x"}'],
  ['extra_data as a list', '{"prompt":{},"extra_data":[]}'],
  ['partial targets as a string', '{"prompt":{},"partial_execution_targets":"1"}'],
  ['__proto__ keys', '{"__proto__":{"polluted":true},"prompt":{"__proto__":{"class_type":"SrvAdd","inputs":{}}}}'],
  ['deeply nested', '{"prompt":' + '['.repeat(5000) + ']'.repeat(5000) + '}'],
];

describe('malformed POST /prompt bodies', () => {
  it.each(BODIES)('answers %s with a 4xx JSON error', async (_name, body) => {
    const res = await post('/prompt', body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.type).toMatch(/application\/json/);
    const parsed = JSON.parse(res.body) as { error: { type: string; message: string } };
    expect(typeof parsed.error.type).toBe('string');
    expect(typeof parsed.error.message).toBe('string');
  });

  it('answers an oversized body with 413', async () => {
    const res = await post('/prompt', JSON.stringify({ prompt: sleepPrompt(1), pad: 'x'.repeat(100_000) }));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.message).toMatch(/too large/);
  });

  it('still works afterwards and nothing was queued', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await getJson(`${server.url}/queue`)).body.queue_pending).toEqual([]);
    expect((await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1) })).status).toBe(200);
  });
});

describe('malformed bodies on the other routes', () => {
  it.each([
    ['/queue', '{"delete":"abc"}'],
    ['/queue', '{"clear":"yes"}'],
    ['/queue', '{"delete":[1,2]}'],
    ['/history', '{"delete":{}}'],
    ['/history', 'nope'],
    ['/interrupt', '{"prompt_id":7}'],
    ['/free', '{"unload_models":"true"}'],
    ['/api/free', '[]'],
  ])('%s %s → 400', async (path, body) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/json/);
  });

  it('rejects bad history queries', async () => {
    for (const q of ['max_items=abc', 'max_items=-3', 'offset=1.5', 'max_items=1&max_items=2']) {
      expect((await getJson(`${server.url}/history?${q}`)).status, q).toBe(400);
    }
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await getJson(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.body.error.type).toBe('not_found');
  });
});
