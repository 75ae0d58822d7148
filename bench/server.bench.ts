/**
 * Server benchmarks (issue 4), each against a same-run baseline:
 * - POST /prompt with a 20-node workflow (validate, persist to SQLite, enqueue), target >= 2,000/s;
 *   baseline: GET /prompt on the same server and client (the HTTP stack alone).
 * - GET /system_stats p99 while a node blocks its worker for 2 s, target <= 20 ms; baseline: p99 with the worker idle.
 * - Latency from a node's progress call to the WebSocket client, p99, target <= 5 ms; baseline: a bare worker
 *   thread's postMessage to the main thread (the thread hop alone).
 * Server and clients share this process, so client work counts against the server: the figures are conservative.
 */
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { percentile } from './measure.ts';
import type { BenchResult } from './types.ts';
import { TestClient, chainPrompt, startTestServer } from '../packages/server/src/test-support/harness.ts';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function call(url: URL, method: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Requests per second with `concurrency` requests in flight. */
async function throughput(total: number, concurrency: number, once: () => Promise<number>): Promise<number> {
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        if ((await once()) !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (failures) throw new Error(`${failures} requests failed`);
  return total / seconds;
}

async function latencies(url: URL, durationMs: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const t = performance.now();
    await call(url, 'GET');
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 2));
  }
  return out;
}

async function promptThroughput(): Promise<BenchResult[]> {
  const server = await startTestServer({ executionPaused: true, maxQueue: 1_000_000 });
  try {
    const body = JSON.stringify({ prompt: chainPrompt(20), client_id: 'bench' });
    const post = new URL('/prompt', server.url);
    await throughput(300, 16, () => call(post, 'POST', body)); // warm-up
    const baseline = await throughput(4000, 16, () => call(post, 'GET'));
    const rate = await throughput(4000, 16, () => call(post, 'POST', body));
    return [{ name: 'server: POST /prompt, 20-node workflow', value: rate, unit: 'req/s', better: 'higher', target: '>= 2000/s', baseline: { name: 'GET /prompt', value: baseline } }];
  } finally {
    await server.dispose();
  }
}

async function statsWhileBlocked(): Promise<BenchResult[]> {
  const server = await startTestServer();
  try {
    const stats = new URL('/system_stats', server.url);
    await latencies(stats, 200);
    const idle = await latencies(stats, 1500);
    const ws = await TestClient.connect(server, 'bench');
    const body = JSON.stringify({ prompt: { '1': { class_type: 'SrvSleep', inputs: { ms: 2000, steps: 4, mode: 'block' } } }, client_id: 'bench' });
    await call(new URL('/prompt', server.url), 'POST', body);
    await ws.waitFor((m) => m.type === 'executing' && m.data.node === '1');
    const busy = await latencies(stats, 1700);
    ws.close();
    return [
      {
        name: 'server: GET /system_stats p99 while a node blocks its worker 2 s',
        value: percentile(busy, 99),
        unit: 'ms',
        better: 'lower',
        target: '<= 20 ms',
        baseline: { name: 'p99 with the worker idle', value: percentile(idle, 99) },
      },
    ];
  } finally {
    await server.dispose();
  }
}

async function progressLatency(): Promise<BenchResult[]> {
  const server = await startTestServer();
  const steps = 400;
  try {
    const ws = await TestClient.connect(server, 'bench');
    // Warm-up prompt: JIT-compile the relay path before measuring.
    const warm = await fetch(`${server.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: { '1': { class_type: 'SrvProgressTimer', inputs: { steps: 100, stepMs: 1 } } }, client_id: 'bench' }) });
    await ws.waitForEnd(((await warm.json()) as { prompt_id: string }).prompt_id, 30_000);
    const received = new Map<number, number>();
    ws.ws.on('message', (data, isBinary) => {
      const t = performance.timeOrigin + performance.now();
      if (isBinary) return;
      const m = JSON.parse(data.toString()) as { type: string; data: { value: number } };
      if (m.type === 'progress') received.set(m.data.value, t);
    });
    const body = JSON.stringify({ prompt: { '1': { class_type: 'SrvProgressTimer', inputs: { steps, stepMs: 2 } } }, client_id: 'bench' });
    const r = await fetch(`${server.url}/prompt`, { method: 'POST', body });
    const id = ((await r.json()) as { prompt_id: string }).prompt_id;
    await ws.waitForEnd(id, 30_000);
    const executed = ws.messages.find((m) => m.type === 'executed' && m.data.prompt_id === id)!;
    const sent = (executed.data.output as { sent: number[] }).sent;
    const lat = sent.map((t, i) => received.get(i + 1)! - t).filter(Number.isFinite);
    ws.close();
    const base = await bareWorkerLatency(steps);
    return [
      {
        name: 'server: node progress call → WebSocket client, p99',
        value: percentile(lat, 99),
        unit: 'ms',
        better: 'lower',
        target: '<= 5 ms',
        baseline: { name: 'bare worker postMessage p99', value: percentile(base, 99) },
      },
    ];
  } finally {
    await server.dispose();
  }
}

/** The floor: a worker busy 2 ms per step posting a timestamp to this thread. */
async function bareWorkerLatency(steps: number): Promise<number[]> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const s = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < ${steps}; i++) { Atomics.wait(s, 0, 0, 2); parentPort.postMessage(performance.timeOrigin + performance.now()); }
  `;
  const worker = new Worker(code, { eval: true });
  const out: number[] = [];
  await new Promise<void>((resolve) => {
    worker.on('message', (t: number) => {
      out.push(performance.timeOrigin + performance.now() - t);
      if (out.length === steps) resolve();
    });
  });
  await worker.terminate();
  return out;
}

export default async function (): Promise<BenchResult[]> {
  try {
    return [...(await promptThroughput()), ...(await statsWhileBlocked()), ...(await progressLatency())];
  } finally {
    agent.destroy();
  }
}
