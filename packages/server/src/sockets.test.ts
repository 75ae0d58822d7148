/**
 * 100 WebSocket clients, each submitting its own prompt: every client sees all of its own prompt's events and none of
 * anyone else's, while `status` reaches everyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, postJson, startTestServer } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';

const N = 100;
let server: TestServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
  for (let i = 0; i < N; i++) clients.push(await TestClient.connect(server, `client-${i}`));
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server?.dispose();
});

describe('100 sockets', () => {
  it('routes each prompt’s events only to its submitter', async () => {
    const ids = await Promise.all(
      clients.map(async (_c, i) => {
        const prompt = {
          '1': { class_type: 'SrvSleep', inputs: { ms: 0, steps: 3, mode: 'async' } },
          '2': { class_type: 'SrvPreview', inputs: { count: 1 + (i % 3) } },
        };
        const r = await postJson(`${server.url}/prompt`, { prompt, client_id: `client-${i}` });
        expect(r.status).toBe(200);
        return r.body.prompt_id as string;
      }),
    );
    await Promise.all(clients.map((c, i) => c.waitForEnd(ids[i]!, 30_000)));
    // Every final status (queue empty) has reached every client.
    await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'status' && (m.data.status as any).exec_info.queue_remaining === 0)));

    const allIds = new Set(ids);
    clients.forEach((c, i) => {
      const own = ids[i]!;
      const foreign = c.messages.filter((m) => typeof m.data?.prompt_id === 'string' && m.data.prompt_id !== own);
      expect(foreign, `client ${i}`).toEqual([]);
      const types = c.ofPrompt(own).map((m) => m.type);
      expect(types[0]).toBe('execution_start');
      expect(types.filter((t) => t === 'progress')).toHaveLength(3);
      expect(types).toContain('execution_success');
      expect(types.at(-1)).toBe('executing');
      // Binary previews: exactly this client's count, each a type-1 PNG frame.
      expect(c.binary).toHaveLength(1 + (i % 3));
      for (const f of c.binary) expect(f.readUInt32BE(0)).toBe(1);
      expect(c.messages.filter((m) => m.type === 'status').length).toBeGreaterThan(1);
      expect(allIds.has(own)).toBe(true);
    });
  });
});
