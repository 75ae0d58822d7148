/**
 * Slow WebSocket clients against a real server process: twenty sockets of one client id that never read, over ten
 * prompts of 10,000 progress steps each. Progress is coalesced per socket once it stops draining, previews dropped,
 * and a socket past the byte limit closed, so the server's memory stays flat (the issue measured +1,150 MB).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN_ENTRY, TEST_PACK, getJson, postJson, tempDataDir } from './test-support/harness.ts';

const dataDir = tempDataDir();
let child: ChildProcess | undefined;
const sockets: Socket[] = [];

afterAll(() => {
  for (const s of sockets) s.destroy();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** A WebSocket that completes the handshake and then never reads another byte. */
function neverReadingSocket(port: number, clientId: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(
        `GET /ws?clientId=${clientId} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    s.once('data', (chunk: Buffer) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 101')) reject(new Error(`upgrade refused: ${chunk.toString('latin1').split('\r\n')[0]}`));
      s.pause(); // from here on nothing is read: the kernel buffers fill, then the server's
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function startServer(): Promise<{ url: string; port: number; pid: number }> {
  child = spawn(process.execPath, ['--import', 'tsx', MAIN_ENTRY, '--port', '0', '--data', dataDir, '--extra-packs', TEST_PACK], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, port: Number(new URL(m[1]!).port), pid: child!.pid! });
    });
    child!.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function runAll(url: string, prompts: object[], clientId: string): Promise<void> {
  const ids: string[] = [];
  for (const prompt of prompts) {
    const r = await postJson(`${url}/prompt`, { prompt, client_id: clientId });
    expect(r.status).toBe(200);
    ids.push(r.body.prompt_id as string);
  }
  for (;;) {
    const history = (await getJson(`${url}/history`)).body as Record<string, unknown>;
    if (ids.every((id) => id in history)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('twenty sockets that never read', () => {
  it('keep the server within 50 MB over ten prompts of 10,000 steps, and are released when they close', async () => {
    const { url, port, pid } = await startServer();
    const timer = (steps: number) => ({ '1': { class_type: 'SrvProgressTimer', inputs: { steps, stepMs: 0 } } });
    await runAll(url, [timer(10_000)], 'warm-up'); // JIT, SQLite pages and the worker's heap settle first
    for (let i = 0; i < 20; i++) sockets.push(await neverReadingSocket(port, 'slow'));
    const before = rssMb(pid);
    await runAll(url, Array.from({ length: 10 }, () => timer(10_000)), 'slow');
    const after = rssMb(pid);
    expect(after - before).toBeLessThan(50);

    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((r) => setTimeout(r, 500));
    // The server is still serving and its memory did not grow on release.
    expect((await getJson(`${url}/queue`)).status).toBe(200);
    expect(rssMb(pid)).toBeLessThan(after + 10);
  }, 180_000);
});
