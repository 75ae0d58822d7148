/**
 * Scale-out through BullMQ on Redis (issue 14), with a real redis-server and real `uso-studio worker` processes:
 * - throughput with 1, 2 and 3 workers on a prompt whose one node sleeps 1 s (standing in for GPU time, so scaling
 *   shows on a 2-core machine); target: N workers at least 0.9 × N times one worker's rate, measured in the same run;
 * - added latency from POST /prompt to `execution_start` with an idle remote worker, against the in-process worker in
 *   the same run; target: at most 20 ms more (medians of 30 prompts each);
 * - cache affinity: 3 workers, 4 rounds of 3 concurrent prompts for 3 checkpoints in rotating order, each model costing
 *   a 300 ms "load" the first time an engine thread uses it; counted are the prompts that paid it, with affinity
 *   routing against routing by files only (the same-run baseline).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './types.ts';
import { TEST_PACK, TestClient, getJson, postJson, startTestServer } from '../packages/server/src/test-support/harness.ts';
import type { TestServer } from '../packages/server/src/test-support/harness.ts';
import { REMOTE_TEST_PACK, TestRedis, startWorker, stopWorker, until } from '../packages/server/src/test-support/remote-cluster.ts';
import type { TestWorker } from '../packages/server/src/test-support/remote-cluster.ts';
import type { ServerOptions } from '../packages/server/src/server.ts';

const CHECKPOINTS = ['a1', 'a2', 'a3', 'f1', 'f2', 'f3'].map((n) => `${n}.safetensors`);
const TIMING = { heartbeatMs: 200 };

async function serve(options: ServerOptions): Promise<TestServer> {
  const server = await startTestServer({ packs: [TEST_PACK, REMOTE_TEST_PACK], extraPacks: [], ...options });
  mkdirSync(join(server.dirs.modelsDir, 'checkpoints'), { recursive: true });
  for (const c of CHECKPOINTS) writeFileSync(join(server.dirs.modelsDir, 'checkpoints', c), 'bench');
  return server;
}

async function submit(server: TestServer, prompt: unknown, clientId: string): Promise<string> {
  const res = await postJson(`${server.url}/prompt`, { prompt, client_id: clientId });
  if (res.status !== 200) throw new Error(`POST /prompt: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.prompt_id as string;
}

const workerCount = async (server: TestServer) => ((await getJson(`${server.url}/queue`)).body.workers as unknown[]).length;

/** Prompts per second for `count` one-second prompts submitted at once. */
async function rate(server: TestServer, client: TestClient, count: number): Promise<number> {
  const prompt = { '1': { class_type: 'SrvSleep', inputs: { ms: 1000, steps: 4, mode: 'async' } } };
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await submit(server, prompt, 'bench'));
  for (const id of ids) await client.waitForEnd(id, 60_000);
  return count / ((performance.now() - t0) / 1000);
}

/** Median milliseconds from sending POST /prompt to receiving the prompt's `execution_start`. */
async function startLatency(server: TestServer, samples: number): Promise<number> {
  const client = await TestClient.connect(server, 'latency');
  const prompt = { '1': { class_type: 'SrvSleep', inputs: { ms: 0, steps: 1, mode: 'async' } } };
  const out: number[] = [];
  try {
    for (let i = 0; i < samples + 3; i++) {
      const t0 = performance.now();
      const id = await submit(server, prompt, 'latency');
      await client.waitFor((m) => m.type === 'execution_start' && m.data.prompt_id === id);
      const ms = performance.now() - t0;
      await client.waitForEnd(id);
      if (i >= 3) out.push(ms); // the first few warm up connections and the engine
    }
  } finally {
    client.close();
  }
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)]!;
}

/** How many of 12 prompts ran on an engine thread that had not loaded their checkpoint yet. */
async function coldLoads(redis: TestRedis, routing: 'affinity' | 'files', names: string[]): Promise<number> {
  const server = await serve({ queue: redis.url, remote: { ...TIMING, routing } });
  const client = await TestClient.connect(server, 'affinity');
  try {
    await until('three workers', async () => ((await workerCount(server)) === 3 ? true : undefined));
    let cold = 0;
    for (let round = 0; round < 4; round++) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const ckpt = names[(i + round) % 3]!;
        ids.push(await submit(server, { '1': { class_type: 'RemoteModelSleep', inputs: { ckpt_name: ckpt, ms: 100, steps: 1, marker_dir: '', load_ms: 300 } } }, 'affinity'));
      }
      for (const id of ids) {
        await client.waitForEnd(id, 30_000);
        const entry = (await getJson(`${server.url}/history/${id}`)).body[id];
        if (entry.status.status_str !== 'success') throw new Error(`prompt failed: ${JSON.stringify(entry.status)}`);
        if (entry.outputs['1'].cold[0]) cold++;
      }
    }
    return cold;
  } finally {
    client.close();
    await server.dispose();
  }
}

export default async function (): Promise<BenchResult[]> {
  const redis = new TestRedis();
  await redis.start();
  const workers: TestWorker[] = [];
  const results: BenchResult[] = [];
  try {
    const local = await serve({});
    const localLatency = await startLatency(local, 30);
    await local.dispose();

    const server = await serve({ queue: redis.url, remote: TIMING });
    const client = await TestClient.connect(server, 'bench');
    try {
      const rates: number[] = [];
      for (let n = 1; n <= 3; n++) {
        workers.push(await startWorker(redis.url, `bench-${n}`, CHECKPOINTS, ['--heartbeat-ms', String(TIMING.heartbeatMs)]));
        await until(`${n} workers`, async () => ((await workerCount(server)) === n ? true : undefined));
        if (n === 1) {
          const remoteLatency = await startLatency(server, 30);
          results.push({
            name: 'scale-out: POST /prompt → execution_start, idle remote worker, added over the in-process worker (median)',
            value: remoteLatency - localLatency,
            unit: 'ms',
            better: 'lower',
            target: '<= 20 ms',
            baseline: { name: 'in-process worker median (ms)', value: localLatency },
          });
        }
        rates.push(await rate(server, client, 4 * n));
      }
      for (let n = 1; n <= 3; n++) {
        results.push({
          name: `scale-out: throughput with ${n} worker${n > 1 ? 's' : ''}, 1 s prompts, / one worker's rate`,
          value: rates[n - 1]! / rates[0]!,
          unit: '×',
          better: 'higher',
          target: `>= ${(0.9 * n).toFixed(1)}`,
          baseline: { name: 'one worker (prompts/s)', value: rates[0]! },
        });
      }
    } finally {
      client.close();
      await server.dispose();
    }

    const affinity = await coldLoads(redis, 'affinity', CHECKPOINTS.slice(0, 3));
    const filesOnly = await coldLoads(redis, 'files', CHECKPOINTS.slice(3));
    results.push({
      name: 'scale-out: prompts that paid a model load, 3 workers × 3 models × 4 rounds, affinity routing',
      value: affinity,
      unit: 'of 12',
      better: 'lower',
      baseline: { name: 'routing by model files only', value: filesOnly },
    });
  } finally {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await redis.dispose();
  }
  return results;
}
