/**
 * Remote workers under faults, each with its own redis-server (append-only), server and worker processes: a worker
 * killed with SIGKILL mid-prompt (retried on another worker, or failed with a message when no retry is left), Redis
 * restarted mid-run, and the server restarted while a worker runs a prompt. Nothing is lost and nothing runs twice to
 * completion: each completed run leaves a marker file, and the tests count them.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../server.ts';
import { TEST_PACK, TestClient, getJson, postJson, startTestServer, tempDataDir } from '../test-support/harness.ts';
import type { TestServer } from '../test-support/harness.ts';
import { REMOTE_TEST_PACK, TEST_TIMING, TestRedis, startWorker, stopWorker, until } from '../test-support/remote-cluster.ts';
import type { TestWorker } from '../test-support/remote-cluster.ts';
import { ONE_PIXEL_PNG } from '../test-support/test-pack.ts';

const MODEL = 'm.safetensors';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function cluster(workerNames: string[], remote: ServerOptions['remote'] = TEST_TIMING, workerFlags: string[] = [], serverExtra: ServerOptions = {}) {
  const redis = new TestRedis();
  await redis.start();
  cleanup.push(() => redis.dispose());
  const markers = mkdtempSync(join(tmpdir(), 'uso-markers-'));
  cleanup.push(() => rmSync(markers, { recursive: true, force: true }));
  const dataDir = tempDataDir();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const options: ServerOptions = { dataDir, packs: [TEST_PACK, REMOTE_TEST_PACK], extraPacks: [], queue: redis.url, remote, ...serverExtra };
  const headers: Record<string, string> = serverExtra.authToken ? { authorization: `Bearer ${serverExtra.authToken}` } : {};
  const server = await serve(options);
  const workers = await Promise.all(workerNames.map((n) => startWorker(redis.url, n, [MODEL], workerFlags)));
  cleanup.push(() => Promise.all(workers.map((w) => stopWorker(w, 'SIGKILL'))).then(() => {}));
  await until('workers announced', async () => ((await getJson(`${server.url}/queue`, headers)).body.workers?.length === workerNames.length ? true : undefined));
  return { redis, server, workers, markers, options };
}

async function serve(options: ServerOptions): Promise<TestServer> {
  const server = await startTestServer(options);
  mkdirSync(join(server.dirs.modelsDir, 'checkpoints'), { recursive: true });
  writeFileSync(join(server.dirs.modelsDir, 'checkpoints', MODEL), 'test');
  cleanup.push(() => server.close());
  return server;
}

const sleepPrompt = (ms: number, markers: string, steps = 10) => ({
  '1': { class_type: 'RemoteModelSleep', inputs: { ckpt_name: MODEL, ms, steps, marker_dir: markers } },
});

async function submit(server: TestServer, prompt: unknown, clientId: string): Promise<string> {
  const res = await postJson(`${server.url}/prompt`, { prompt, client_id: clientId });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.prompt_id as string;
}

const history = async (server: TestServer, id: string) => (await getJson(`${server.url}/history/${id}`)).body[id];
const completions = (markers: string, id: string) => readdirSync(markers).filter((f) => f.startsWith(`${id}.`));

/** The worker whose announcement lists the prompt as running. */
async function runnerOf(server: TestServer, workers: TestWorker[], id: string): Promise<TestWorker> {
  const name = await until('a worker running the prompt', async () =>
    (await getJson(`${server.url}/queue`)).body.workers.find((w: { running: string[] }) => w.running.includes(id))?.name as string | undefined,
  );
  return workers.find((w) => w.name === name)!;
}

describe('remote workers under faults', () => {
  it('a worker killed with SIGKILL mid-prompt: the prompt is retried on another worker and completes once', async () => {
    const { server, workers, markers } = await cluster(['k-1', 'k-2']);
    const c = await TestClient.connect(server, 'kill');
    cleanup.push(() => c.close());
    const id = await submit(server, sleepPrompt(1500, markers), 'kill');
    await c.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id, 20_000);
    const victim = await runnerOf(server, workers, id);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    await c.waitFor((m) => m.type === 'execution_start' && m.data.prompt_id === id && c.ofPrompt(id).filter((x) => x.type === 'execution_start').length === 2, 30_000);
    await c.waitForEnd(id, 30_000);
    const entry = await history(server, id);
    expect(entry.status.status_str).toBe('success');
    const survivor = workers.find((w) => w !== victim)!;
    expect(entry.outputs['1'].pid).toEqual([survivor.proc.pid]);
    expect(completions(markers, id)).toEqual([expect.stringContaining(`.${survivor.proc.pid}.`)]);
    // The dead worker leaves /queue once its announcement expires.
    await until('the dead worker gone', async () => ((await getJson(`${server.url}/queue`)).body.workers.length === 1 ? true : undefined));
  }, 60_000);

  it('with no retry left, a killed worker\'s prompt is recorded as failed with a message', async () => {
    const { server, workers, markers } = await cluster(['only'], { ...TEST_TIMING, maxStalls: 0 }, ['--max-stalls', '0']);
    const c = await TestClient.connect(server, 'kill0');
    cleanup.push(() => c.close());
    const id = await submit(server, sleepPrompt(3000, markers), 'kill0');
    await c.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id, 20_000);
    workers[0]!.proc.kill('SIGKILL');
    const error = await c.waitFor((m) => m.type === 'execution_error' && m.data.prompt_id === id, 30_000);
    expect(error.data.exception_type).toBe('WorkerLost');
    expect(error.data.exception_message).toMatch(/stopped \(killed or lost\) 1 time/);
    expect((await history(server, id)).status.status_str).toBe('error');
    expect(completions(markers, id)).toEqual([]);
  }, 60_000);

  it('Redis restarted mid-run: server and worker reconnect and every queued prompt completes exactly once', async () => {
    const slow = { ...TEST_TIMING, lockMs: 4000 };
    const { redis, server, markers } = await cluster(['r-1'], slow, ['--lock-ms', '4000']);
    const c = await TestClient.connect(server, 'redis');
    cleanup.push(() => c.close());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(server, sleepPrompt(800, markers, 4), 'redis'));
    await c.waitFor((m) => m.type === 'progress' && m.data.prompt_id === ids[0], 20_000);
    await redis.restart();
    for (const id of ids) {
      await until(`history of ${id}`, async () => (await history(server, id))?.status.status_str, 30_000);
      expect((await history(server, id)).status.status_str).toBe('success');
      expect(completions(markers, id).length).toBe(1);
    }
  }, 60_000);

  it('the server restarted while a worker runs: the result and its output file still reach history', async () => {
    const { server, markers, options } = await cluster(['s-1']);
    void markers;
    const c = await TestClient.connect(server, 'restart');
    const prompt = {
      '1': { class_type: 'SrvSleep', inputs: { ms: 1500, steps: 5, mode: 'async' } },
      '2': { class_type: 'SrvSaveImage', inputs: { filename_prefix: 'after', value: ['1', 0] } },
    };
    const id = await submit(server, prompt, 'restart');
    await c.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id, 20_000);
    c.close();
    await server.close();
    // Same data directory and port: the worker's upload (retried while no server listens) reaches the new process.
    const again = await serve({ ...options, port: server.port });
    const entry = await until('history after the restart', async () => {
      const e = await history(again, id);
      return e?.status.completed ? e : undefined;
    }, 30_000);
    expect(entry.status.status_str).toBe('success');
    const image = entry.outputs['2'].images[0];
    const view = await fetch(`${again.url}/view?filename=${image.filename}&type=output`);
    expect(view.status).toBe(200);
    expect(Buffer.from(await view.arrayBuffer()).equals(ONE_PIXEL_PNG)).toBe(true);
    expect((await getJson(`${again.url}/queue`)).body.queue_running).toEqual([]);
  }, 60_000);

  it('a server with an auth token: the worker needs none of it, and files travel with per-prompt tokens', async () => {
    const token = 'server-secret-token';
    const auth = { authorization: `Bearer ${token}` };
    const { server, workers } = await cluster(['t-1'], TEST_TIMING, [], { authToken: token });
    expect(workers[0]!.output()).not.toContain(token);
    const prompt = { '1': { class_type: 'SrvSaveImage', inputs: { filename_prefix: 'authed' } } };
    const res = await postJson(`${server.url}/prompt`, { prompt, client_id: 'auth' }, auth);
    expect(res.status).toBe(200);
    const id = res.body.prompt_id as string;
    const entry = await until('history', async () => {
      const e = (await getJson(`${server.url}/history/${id}`, auth)).body[id];
      return e?.status.completed ? e : undefined;
    });
    const image = entry.outputs['1'].images[0];
    const view = await fetch(`${server.url}/view?filename=${image.filename}&type=output`, { headers: auth });
    expect(Buffer.from(await view.arrayBuffer()).equals(ONE_PIXEL_PNG)).toBe(true);
    // The server's own token is no transfer token, and the transfer route serves nothing without one.
    const upload = await fetch(`${server.url}/uso-remote/output?prompt_id=${id}&filename=x.png`, { method: 'PUT', headers: auth, body: 'x' });
    expect(upload.status).toBe(401);
    expect((await fetch(`${server.url}/uso-remote/input?prompt_id=${id}&filename=x.png`)).status).toBe(401);
  }, 60_000);
});
