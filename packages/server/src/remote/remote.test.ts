/**
 * Remote workers end to end: a real redis-server (append-only), real `uso-studio worker` processes and a real server
 * on loopback. Distribution, events reaching only their own client in the local worker's order, input and output
 * transfer, the workers in /system_stats and /queue, routing by model files and loaded models, a worker refusing a
 * prompt whose model file it lacks, a prompt no worker can run, a password in the URL, and interrupting a remote
 * prompt. The fault tests (SIGKILL, Redis and server restarts) are in remote-faults.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONE_PIXEL_PNG } from '../test-support/test-pack.ts';
import { TEST_PACK, TestClient, getJson, postJson, startTestServer } from '../test-support/harness.ts';
import type { TestServer, WsMessage } from '../test-support/harness.ts';
import { REMOTE_TEST_PACK, TEST_TIMING, TestRedis, startWorker, stopWorker, until } from '../test-support/remote-cluster.ts';
import type { TestWorker } from '../test-support/remote-cluster.ts';

const MODEL = 'shared.safetensors';
let redis: TestRedis;
let server: TestServer;
let markers: string;
const workers: TestWorker[] = [];

beforeAll(async () => {
  redis = new TestRedis('s3cret/pass');
  await redis.start();
  markers = mkdtempSync(join(tmpdir(), 'uso-markers-'));
  server = await startTestServer({ packs: [TEST_PACK, REMOTE_TEST_PACK], extraPacks: [], queue: redis.url, remote: TEST_TIMING });
  // The server validates against its own models folder, separate from the workers'.
  mkdirSync(join(server.dirs.modelsDir, 'checkpoints'), { recursive: true });
  for (const m of [MODEL, 'only-on-a.safetensors', 'on-b-and-c.safetensors', 'nowhere.safetensors']) writeFileSync(join(server.dirs.modelsDir, 'checkpoints', m), 'test');
  workers.push(
    ...(await Promise.all([
      startWorker(redis.url, 'w-a', [MODEL, 'only-on-a.safetensors']),
      startWorker(redis.url, 'w-b', [MODEL, 'on-b-and-c.safetensors']),
      startWorker(redis.url, 'w-c', [MODEL, 'on-b-and-c.safetensors']),
    ])),
  );
  await until('three workers', async () => ((await getJson(`${server.url}/queue`)).body.workers?.length === 3 ? true : undefined));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w)));
  await server?.dispose();
  await redis?.dispose();
  rmSync(markers, { recursive: true, force: true });
});

const sleepPrompt = (ms: number, ckpt = MODEL, steps = 5) => ({
  '1': { class_type: 'RemoteModelSleep', inputs: { ckpt_name: ckpt, ms, steps, marker_dir: markers } },
});

async function submit(prompt: unknown, clientId: string): Promise<string> {
  const res = await postJson(`${server.url}/prompt`, { prompt, client_id: clientId });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.prompt_id as string;
}

const history = async (id: string) => (await getJson(`${server.url}/history/${id}`)).body[id];
const pidOf = (entry: { outputs: Record<string, { pid?: number[] }> }) => Object.values(entry.outputs).find((o) => o.pid)?.pid?.[0];
const workerByPid = (pid: number | undefined) => workers.find((w) => w.proc.pid === pid)?.name;

describe('serve --queue with three workers', () => {
  it('spreads prompts over the workers; each client sees only its own events, in the local worker order', async () => {
    // The same prompt on the in-process worker gives the message sequence every remote run must match.
    const local = await startTestServer({ packs: [TEST_PACK, REMOTE_TEST_PACK], extraPacks: [] });
    mkdirSync(join(local.dirs.modelsDir, 'checkpoints'), { recursive: true });
    writeFileSync(join(local.dirs.modelsDir, 'checkpoints', MODEL), 'test');
    const localClient = await TestClient.connect(local, 'alice');
    const localId = (await postJson(`${local.url}/prompt`, { prompt: sleepPrompt(100), client_id: 'alice' })).body.prompt_id as string;
    await localClient.waitForEnd(localId);
    const localSequence = localClient.ofPrompt(localId).map((m) => m.type);
    localClient.close();
    await local.dispose();

    const alice = await TestClient.connect(server, 'alice');
    const bob = await TestClient.connect(server, 'bob');
    const ids: { id: string; client: TestClient; owner: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const owner = i % 2 ? 'bob' : 'alice';
      ids.push({ id: await submit(sleepPrompt(600), owner), client: owner === 'bob' ? bob : alice, owner });
    }
    // While they run, /queue and /system_stats show three busy workers.
    const busy = await until('all workers busy', async () => {
      const q = (await getJson(`${server.url}/queue`)).body;
      return q.workers.filter((w: { running: string[] }) => w.running.length === 1).length === 3 ? q : undefined;
    });
    expect(busy.queue_running.length).toBe(3);
    for (const { id, client } of ids) await client.waitForEnd(id, 20_000);
    const ran = new Set<string | undefined>();
    for (const { id, client, owner } of ids) {
      const entry = await history(id);
      expect(entry.status.status_str).toBe('success');
      ran.add(workerByPid(pidOf(entry)));
      expect(client.ofPrompt(id).map((m: WsMessage) => m.type)).toEqual(localSequence);
      const other = owner === 'alice' ? bob : alice;
      expect(other.ofPrompt(id)).toEqual([]);
    }
    expect(ran).toEqual(new Set(['w-a', 'w-b', 'w-c']));
    // Exactly one completed run per prompt.
    expect(readdirSync(markers).filter((f) => ids.some(({ id }) => f.startsWith(id))).length).toBe(6);
    const stats = (await getJson(`${server.url}/system_stats`)).body;
    expect(stats.workers.map((w: { name: string }) => w.name)).toEqual(['w-a', 'w-b', 'w-c']);
    for (const w of stats.workers) {
      expect(w.device).toBe('cpu');
      expect(Date.now() - w.last_heartbeat).toBeLessThan(TEST_TIMING.heartbeatMs * 3 + 1000);
      expect(w.models_loaded).toEqual([`checkpoints/${MODEL}`]);
    }
    alice.close();
    bob.close();
  }, 60_000);

  it('sends input images to the worker and output files back to the server', async () => {
    const form = new FormData();
    form.append('image', new Blob([ONE_PIXEL_PNG], { type: 'image/png' }), 'pixel.png');
    const up = await fetch(`${server.url}/upload/image`, { method: 'POST', body: form });
    expect(up.status).toBe(200);
    const c = await TestClient.connect(server, 'files');
    const id = await submit({ '1': { class_type: 'RemoteCopyInput', inputs: { image: 'pixel.png' } } }, 'files');
    await c.waitForEnd(id, 20_000);
    const entry = await history(id);
    expect(entry.status.status_str).toBe('success');
    const image = entry.outputs['1'].images[0];
    const executed = c.ofPrompt(id).find((m) => m.type === 'executed')!;
    expect((executed.data.output as { images: unknown[] }).images[0]).toEqual(image);
    const view = await fetch(`${server.url}/view?filename=${image.filename}&type=output`);
    expect(view.status).toBe(200);
    expect(Buffer.from(await view.arrayBuffer()).equals(ONE_PIXEL_PNG)).toBe(true);
    // A second run writes the same name on the worker: the server keeps both, under two names.
    const again = await submit({ '1': { class_type: 'RemoteCopyInput', inputs: { image: 'pixel.png' } } }, 'files');
    await c.waitForEnd(again, 20_000);
    const second = (await history(again)).outputs['1'].images[0];
    expect(second.filename).not.toBe(image.filename);
    c.close();
  }, 30_000);

  it('refuses transfers without the prompt\'s token', async () => {
    const res = await fetch(`${server.url}/uso-remote/input?prompt_id=x&filename=pixel.png`, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
  });

  it('routes to a worker with the model file, and prefers one that has it loaded', async () => {
    const c = await TestClient.connect(server, 'route');
    const unloadAll = async () => {
      await postJson(`${server.url}/free`, { unload_models: true });
      await until('models unloaded', async () =>
        (await getJson(`${server.url}/queue`)).body.workers.every((w: { models_loaded: string[] }) => w.models_loaded.length === 0) ? true : undefined,
      );
    };
    await unloadAll();
    for (let i = 0; i < 3; i++) {
      const id = await submit(sleepPrompt(20, 'only-on-a.safetensors'), 'route');
      await c.waitForEnd(id, 20_000);
      expect(workerByPid(pidOf(await history(id)))).toBe('w-a');
    }
    await unloadAll();
    // Keep w-a and w-b busy so that w-c loads on-b-and-c; then, all idle, w-c (loaded) wins over w-b (files only),
    // although w-b comes first by name.
    const long = [await submit(sleepPrompt(1500), 'route'), await submit(sleepPrompt(1500), 'route')];
    await until('w-a and w-b busy', async () =>
      (await getJson(`${server.url}/queue`)).body.workers.filter((w: { running: string[] }) => w.running.length).length === 2 ? true : undefined,
    );
    const loads = await submit(sleepPrompt(20, 'on-b-and-c.safetensors'), 'route');
    await c.waitForEnd(loads, 20_000);
    expect(workerByPid(pidOf(await history(loads)))).toBe('w-c');
    for (const id of long) await c.waitForEnd(id, 20_000);
    const again = await submit(sleepPrompt(20, 'on-b-and-c.safetensors'), 'route');
    await c.waitForEnd(again, 20_000);
    expect(workerByPid(pidOf(await history(again)))).toBe('w-c');
    c.close();
  }, 30_000);

  it('fails a prompt naming the model file no worker has', async () => {
    const c = await TestClient.connect(server, 'missing');
    const id = await submit(sleepPrompt(20, 'nowhere.safetensors'), 'missing');
    const error = await c.waitFor((m) => m.type === 'execution_error' && m.data.prompt_id === id, 20_000);
    expect(error.data.exception_type).toBe('MissingModelFiles');
    expect(error.data.exception_message).toContain('models/checkpoints/nowhere.safetensors');
    expect((await history(id)).status.status_str).toBe('error');
    c.close();
  });

  it('a worker that lacks the file after all refuses, and the prompt runs on one that has it', async () => {
    // w-a announced the shared model; take it away behind its back. w-a is first by name among equals, so it is asked.
    const a = workers[0]!;
    const wa = (await getJson(`${server.url}/queue`)).body.workers.find((w: { name: string }) => w.name === 'w-a');
    expect(wa.models_loaded).toContain(`checkpoints/${MODEL}`);
    await postJson(`${server.url}/free`, { unload_models: true });
    await until('models unloaded', async () =>
      (await getJson(`${server.url}/queue`)).body.workers.every((w: { models_loaded: string[] }) => w.models_loaded.length === 0) ? true : undefined,
    );
    unlinkSync(join(a.modelsDir, 'checkpoints', MODEL));
    const c = await TestClient.connect(server, 'refuse');
    const id = await submit(sleepPrompt(20), 'refuse');
    await c.waitForEnd(id, 20_000);
    const entry = await history(id);
    expect(entry.status.status_str).toBe('success');
    expect(['w-b', 'w-c']).toContain(workerByPid(pidOf(entry)));
    expect(a.output()).toContain(`refusing prompt ${id}: missing checkpoints/${MODEL}`);
    c.close();
  }, 30_000);

  it('interrupts a remote prompt within one progress step', async () => {
    const c = await TestClient.connect(server, 'stop');
    const id = await submit(sleepPrompt(20_000, MODEL, 100), 'stop');
    await c.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id, 20_000);
    const asked = Date.now();
    await postJson(`${server.url}/interrupt`, { prompt_id: id });
    await c.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === id, 5000);
    // One step is 200 ms; the interrupt travels server → Redis → worker → its engine thread.
    expect(Date.now() - asked).toBeLessThan(1000);
    await c.waitForEnd(id);
    expect((await history(id)).status.status_str).toBe('error');
    c.close();
  }, 30_000);
});
