/**
 * Durability against kill -9: a real server process is killed mid-prompt with SIGKILL and restarted on the same
 * data directory. Every prompt that got a 200 must come back: finished ones in history, pending ones run in order,
 * the running one recorded as failed with a clear message.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { RESTART_FAILURE_MESSAGE } from './prompt-queue.ts';
import { MAIN_ENTRY, TEST_PACK, TestClient, chainPrompt, getJson, postJson, sleepPrompt, tempDataDir } from './test-support/harness.ts';

const dataDir = tempDataDir();
const children: ChildProcess[] = [];

function startProcess(extraArgs: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN_ENTRY, '--port', '0', '--data', dataDir, '--extra-packs', TEST_PACK, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('restart after SIGKILL', () => {
  it('loses nothing a client was told was accepted', async () => {
    const first = await startProcess();
    const ws = await TestClient.connect(first, 'k');
    const done = await postJson(`${first.url}/prompt`, { prompt: chainPrompt(3, true), client_id: 'k' });
    await ws.waitForEnd(done.body.prompt_id);

    const long = await postJson(`${first.url}/prompt`, { prompt: sleepPrompt(60_000, { steps: 6000, mode: 'block' }), client_id: 'k' });
    expect(long.status).toBe(200);
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long.body.prompt_id);
    const accepted: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await postJson(`${first.url}/prompt`, { prompt: chainPrompt(3, i % 5 === 0), client_id: 'k' });
      expect(r.status).toBe(200);
      accepted.push(r.body.prompt_id);
    }
    // Killed right after the last 200: no chance to flush anything.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    ws.close();

    const second = await startProcess();
    const all = [done.body.prompt_id, long.body.prompt_id, ...accepted];
    const history = await waitUntil(async () => {
      const h = (await getJson(`${second.url}/history`)).body as Record<string, any>;
      return all.every((id) => id in h) ? h : undefined;
    });
    // History order is run order: the finished one, the crashed one, then the pending ones in submission order.
    expect(Object.keys(history)).toEqual(all);
    expect(history[done.body.prompt_id].status.status_str).toBe('success');
    expect(history[done.body.prompt_id].outputs['3'].images[0].type).toBe('output');
    const crashed = history[long.body.prompt_id];
    expect(crashed.status).toMatchObject({ status_str: 'error', completed: false });
    expect(crashed.status.messages[0][1].exception_message).toBe(RESTART_FAILURE_MESSAGE);
    for (const id of accepted) expect(history[id].status.status_str).toBe('success');
    expect((await getJson(`${second.url}/queue`)).body).toEqual({ queue_running: [], queue_pending: [] });
    // Numbering continues after the restart, so new prompts sort after the recovered ones.
    const next = await postJson(`${second.url}/prompt`, { prompt: chainPrompt(2) });
    expect(next.body.number).toBeGreaterThan(history[accepted.at(-1)!].prompt[0]);
    second.child.kill('SIGKILL');
    await new Promise((r) => second.child.once('exit', r));
  });

  it('re-queues the interrupted prompt with --requeue-interrupted', async () => {
    const first = await startProcess();
    const ws = await TestClient.connect(first, 'r');
    const long = await postJson(`${first.url}/prompt`, { prompt: sleepPrompt(60_000, { steps: 6000, mode: 'block' }), client_id: 'r' });
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long.body.prompt_id);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    ws.close();

    const second = await startProcess(['--requeue-interrupted']);
    const q = (await getJson(`${second.url}/queue`)).body;
    expect(q.queue_running.map((i: unknown[]) => i[1])).toEqual([long.body.prompt_id]);
    expect((await getJson(`${second.url}/history/${long.body.prompt_id}`)).body).toEqual({});
    await postJson(`${second.url}/interrupt`, {});
    const h = await waitUntil(async () => (await getJson(`${second.url}/history/${long.body.prompt_id}`)).body[long.body.prompt_id]);
    expect(h.status.messages.map((m: [string]) => m[0])).toContain('execution_interrupted');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
