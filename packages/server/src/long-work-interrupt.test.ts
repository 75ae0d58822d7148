/**
 * An interrupt inside long work: a batch runs in DiT chunks and every onnxruntime call reads the interrupt flag
 * (engine-worker.ts), so the sampler stops before the next chunk. Here: it stops inside the first step, records the
 * prompt as interrupted, and the next prompt runs. A single long onnxruntime run in an isolated session (its own
 * process, as the model service runs real full-size models) is stopped inside the run, and the same graph runs again
 * afterwards. Tokenizing a long text stops between its pieces. How fast each lands is a benchmark figure (bench/hardening.bench.ts, target <= 1 s), not asserted
 * here. Real server, real packs, demo models, real onnxruntime.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PACKS } from './packs.ts';
import { TestClient, getJson, postJson, startTestServer, tempDataDir, type TestServer } from './test-support/harness.ts';
import { ORT_RUN_LOG } from './test-support/ort-pack.ts';
import { usoPrompt, withDemoModels } from './test-support/uso-prompt.ts';

const ORT_PACK = fileURLToPath(new URL('./test-support/ort-pack.ts', import.meta.url));

let server: TestServer;
let ws: TestClient;
beforeAll(async () => {
  const dataDir = tempDataDir();
  await withDemoModels(dataDir);
  // Text limits raised for the long tokenization below (a 6 MB prompt; the defaults are 100,000 characters and 4 MB).
  server = await startTestServer({ dataDir, packs: DEFAULT_PACKS, extraPacks: [ORT_PACK], limits: { maxTextChars: 10_000_000, maxPromptBytes: 16 * 2 ** 20 } });
  ws = await TestClient.connect(server, 'long');
}, 60_000);
afterAll(async () => {
  ws?.close();
  await server?.dispose();
});

describe('interrupt inside a long sampler step', () => {
  it('stops between DiT chunks before the first step ends, and the queue goes on', async () => {
    // 64 items of 1,280 tokens: 11 DiT runs per step, several seconds per step on 2 cores.
    const r = await postJson(`${server.url}/prompt`, { prompt: usoPrompt({ width: 256, height: 256, batch: 64, steps: 20 }), client_id: 'long' });
    expect(r.status).toBe(200);
    const id = r.body.prompt_id as string;
    // Interrupt as soon as the sampler runs: a step is 11 DiT chunks, and the flag is read before each of them, so it
    // lands inside the first step however fast the machine is (a fixed wait here let a quiet machine finish a step).
    await ws.waitFor((m) => m.type === 'executing' && m.data.prompt_id === id && m.data.node === 'sampler', 60_000);
    await postJson(`${server.url}/interrupt`, {});
    await ws.waitForEnd(id, 60_000);
    const events = ws.ofPrompt(id);
    expect(events.some((m) => m.type === 'execution_interrupted')).toBe(true);
    // No sampler step finished: the interrupt did not wait for a progress call.
    expect(events.filter((m) => m.type === 'progress' && m.data.node === 'sampler')).toEqual([]);
    expect((await getJson(`${server.url}/history/${id}`)).body[id].status.status_str).toBe('error');

    const next = await postJson(`${server.url}/prompt`, { prompt: usoPrompt({ width: 64, height: 64, seed: 3 }), client_id: 'long' });
    await ws.waitForEnd(next.body.prompt_id, 60_000);
    expect(ws.ofPrompt(next.body.prompt_id).some((m) => m.type === 'execution_success')).toBe(true);
  }, 120_000);
});

describe('interrupt inside one long onnxruntime run', () => {
  it('stops an isolated session inside its run, and the same graph runs again afterwards', async () => {
    // 4096 rows through 400 MatMuls: several seconds inside one run, on one thread.
    const r = await postJson(`${server.url}/prompt`, { prompt: { m: { class_type: 'SrvOrtIsolatedMatMul', inputs: { rows: 4096, depth: 400 } } }, client_id: 'long' });
    expect(r.status).toBe(200);
    const id = r.body.prompt_id as string;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id && m.data.value === 0, 60_000); // just before the run
    await new Promise((resolve) => setTimeout(resolve, 500));
    await postJson(`${server.url}/interrupt`, {});
    await ws.waitForEnd(id, 60_000);
    expect(ws.ofPrompt(id).some((m) => m.type === 'execution_interrupted')).toBe(true);
    // The run's promise rejected as an abort (a finished run would have resolved and logged its end).
    const runs = () =>
      readFileSync(join(server.dataDir, 'temp', ORT_RUN_LOG), 'utf8')
        .split('\n')
        .filter((l) => l.includes('isolated-run'))
        .map((l) => JSON.parse(l) as { event: string; rows: number; name?: string });
    expect(runs().filter((e) => e.rows === 4096)).toEqual([
      expect.objectContaining({ event: 'isolated-run-start' }),
      expect.objectContaining({ event: 'isolated-run-rejected', name: 'AbortError' }),
    ]);

    // The same graph (a new session behind it) runs to the end: total = rows × 512.
    const again = await postJson(`${server.url}/prompt`, { prompt: { m: { class_type: 'SrvOrtIsolatedMatMul', inputs: { rows: 4, depth: 400 } } }, client_id: 'long' });
    await ws.waitForEnd(again.body.prompt_id, 60_000);
    expect(ws.ofPrompt(again.body.prompt_id).some((m) => m.type === 'execution_success')).toBe(true);
    expect((await getJson(`${server.url}/history/${again.body.prompt_id}`)).body[again.body.prompt_id].outputs.m.total).toEqual([2048]);
  }, 120_000);
});

describe('interrupt inside tokenization', () => {
  it('stops CLIPTextEncode between pieces of a long text, before the text is tokenized and encoded', async () => {
    // 6,000,000 characters: about 1,500 pieces, several seconds of tokenization (longer than the server's default
    // limit allows, so that the interrupt surely lands while it runs, however loaded the machine).
    const text = 'a photo of a cat sitting on the red sofa watercolour highly detailed '.repeat(90_000).slice(0, 6_000_000);
    const r = await postJson(`${server.url}/prompt`, { prompt: usoPrompt({ width: 64, height: 64, text, seed: 11 }), client_id: 'long' });
    expect(r.status).toBe(200);
    const id = r.body.prompt_id as string;
    const first = await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id && m.data.node === 'text', 60_000);
    await postJson(`${server.url}/interrupt`, {});
    await ws.waitForEnd(id, 60_000);
    const events = ws.ofPrompt(id);
    expect(events.some((m) => m.type === 'execution_interrupted')).toBe(true);
    const textProgress = events.filter((m) => m.type === 'progress' && m.data.node === 'text');
    const max = first.data.max as number;
    expect(max).toBeGreaterThan(1000);
    expect(textProgress.at(-1)!.data.value as number).toBeLessThan(max); // tokenization had not finished
    expect(events.some((m) => m.type === 'executing' && ['guidance', 'negative', 'sampler'].includes(m.data.node as string))).toBe(false);
  }, 120_000);
});
