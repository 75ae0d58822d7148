/**
 * Test helpers for remote workers: a real `redis-server` on a free loopback port with its own folder and append-only
 * persistence, and `uso-studio worker` processes. Everything waits on real state (a line a process prints, a port
 * that answers, a condition over HTTP), never on a fixed sleep.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { TEST_PACK } from './harness.ts';

export const REMOTE_TEST_PACK = fileURLToPath(new URL('./remote-test-pack.ts', import.meta.url));
const CLI_ENTRY = fileURLToPath(new URL('../../../cli/src/main.ts', import.meta.url));
/** Fast protocol timing for tests: announcements every 100 ms, a job stalls 1 s after its worker stops. */
export const TEST_TIMING = { heartbeatMs: 100, lockMs: 1000, stalledIntervalMs: 250 };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class TestRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'uso-redis-'));
  port = 0;
  #proc: ChildProcess | undefined;
  readonly #password: string | undefined;

  constructor(password?: string) {
    this.#password = password;
  }

  get url(): string {
    return `redis://${this.#password ? `:${encodeURIComponent(this.#password)}@` : ''}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'yes'];
    if (this.#password) args.push('--requirepass', this.#password);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  }

  /** Stops Redis (SIGTERM: it finishes writing its append-only file) and waits until the process is gone. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A direct client for inspecting state. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: null });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface TestWorker {
  name: string;
  proc: ChildProcess;
  dataDir: string;
  modelsDir: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** A models folder with `checkpoints/<name>` for each name (a few bytes each: the test nodes only list them). */
function modelsFolder(names: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'uso-models-'));
  mkdirSync(join(dir, 'checkpoints'));
  for (const n of names) writeFileSync(join(dir, 'checkpoints', n), 'test');
  return dir;
}

/** Starts `uso-studio worker` with the test packs; resolves once it printed that it is ready. */
export async function startWorker(queue: string, name: string, models: readonly string[], extra: string[] = []): Promise<TestWorker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uso-worker-'));
  const modelsDir = modelsFolder(models);
  const proc = spawn(
    process.execPath,
    [
      '--import', 'tsx', CLI_ENTRY, 'worker', '--queue', queue, '--name', name, '--data', dataDir, '--models', modelsDir,
      '--packs', `${TEST_PACK},${REMOTE_TEST_PACK}`,
      '--heartbeat-ms', String(TEST_TIMING.heartbeatMs), '--lock-ms', String(TEST_TIMING.lockMs), ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (out.includes(`worker ${name} ready`)) resolve();
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`worker ${name} exited with ${code}: ${out}`)));
  });
  return { name, proc, dataDir, modelsDir, output: () => out, exited };
}

/** Ends a worker (SIGTERM unless told otherwise), waits for the process to be gone and removes its folders. */
export async function stopWorker(w: TestWorker, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill(signal);
  await w.exited;
  rmSync(w.dataDir, { recursive: true, force: true });
  rmSync(w.modelsDir, { recursive: true, force: true });
}

/** Polls `probe` until it returns something other than undefined; `what` names the condition if it never does. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
