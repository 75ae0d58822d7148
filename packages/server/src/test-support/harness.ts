/**
 * Test helpers: a real server on an ephemeral loopback port with a temporary data directory, and a WebSocket client
 * that records every frame and waits for the ones a test expects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createServer } from '../server.ts';
import type { RunningServer, ServerOptions } from '../server.ts';

export const TEST_PACK = fileURLToPath(new URL('./test-pack.ts', import.meta.url));
export const MAIN_ENTRY = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Closes the server and deletes its data directory. */
  dispose(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'uso-server-test-'));
}

export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const server = await createServer({ port: 0, dataDir, packs: [], extraPacks: [TEST_PACK], editorDir: false, log: () => {}, ...options });
  return {
    ...server,
    dataDir,
    async dispose() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface WsMessage {
  type: string;
  data: Record<string, unknown>;
}

/** A WebSocket client that keeps every text message and binary frame. */
export class TestClient {
  readonly messages: WsMessage[] = [];
  readonly binary: Buffer[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.binary.push(Buffer.from(data as Buffer));
      else this.messages.push(JSON.parse(data.toString()) as WsMessage);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.ws.on('close', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async connect(server: { url: string }, clientId: string, query = ''): Promise<TestClient> {
    const c = new TestClient(`${server.url.replace('http', 'ws')}/ws?clientId=${clientId}${query}`);
    await c.opened;
    return c;
  }

  /** Waits until `predicate` holds for some message (checked on every new frame). */
  async waitFor(predicate: (m: WsMessage) => boolean, timeoutMs = 10_000): Promise<WsMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`timed out waiting for a message; got: ${this.messages.map((m) => m.type).join(', ')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the end of a prompt (`executing` with node null). */
  waitForEnd(promptId: string, timeoutMs?: number): Promise<WsMessage> {
    return this.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId, timeoutMs);
  }

  ofPrompt(promptId: string): WsMessage[] {
    return this.messages.filter((m) => m.data?.prompt_id === promptId);
  }

  close(): void {
    this.ws.close();
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return statusAndBody(res);
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return statusAndBody(await fetch(url, { headers }));
}

/** The status and the parsed JSON body; a body that is not JSON is returned as text so the test can show it. */
async function statusAndBody(res: Response): Promise<{ status: number; body: any }> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body: parsed };
}

/** A one-node prompt that sleeps `ms` (blocking or awaiting) in `steps` progress steps. */
export function sleepPrompt(ms: number, options: { steps?: number; mode?: 'async' | 'block' } = {}) {
  return { '1': { class_type: 'SrvSleep', inputs: { ms, steps: options.steps ?? 5, mode: options.mode ?? 'async' } } };
}

/** A chain of `n - 1` SrvAdd nodes feeding one output node: `n` nodes in all. */
export function chainPrompt(n: number, saveOutput = false) {
  const prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {};
  for (let i = 1; i < n; i++) prompt[String(i)] = { class_type: 'SrvAdd', inputs: i === 1 ? { b: 1 } : { a: [String(i - 1), 0], b: i } };
  prompt[String(n)] = saveOutput
    ? { class_type: 'SrvSaveImage', inputs: { filename_prefix: 'chain', value: [String(n - 1), 0] } }
    : { class_type: 'SrvSleep', inputs: { ms: 0, steps: 1, mode: 'async', value: [String(n - 1), 0] } };
  return prompt;
}
