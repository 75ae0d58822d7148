/**
 * Browser and server helpers for the editor's end-to-end tests and benchmark (test/e2e, bench/editor.bench.ts).
 * Chromium is Debian's (/usr/bin/chromium) driven by playwright-core: nothing downloads a browser.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export type { Browser, Page };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EDITOR_DIR = join(REPO_ROOT, 'packages/editor');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** Starts headless Chromium; throws a message that says how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true });
}

/** Builds packages/editor/dist with Vite (about two seconds), so tests run the current source. */
export function buildEditor(): void {
  const vite = join(EDITOR_DIR, 'node_modules/vite/bin/vite.js');
  const res = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'error'], { cwd: EDITOR_DIR, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`vite build failed:\n${res.stdout}\n${res.stderr}`);
}

/** Writes the demo models (tiny USO-shaped weights) into `dataDir` through the CLI's `uso-studio models demo`. */
export function writeDemoModels(dataDir: string): void {
  const cli = join(REPO_ROOT, 'packages/cli/src/main.ts');
  if (!existsSync(cli)) throw new Error('packages/cli/src/main.ts is missing: the demo models come from `uso-studio models demo`');
  execFileSync(process.execPath, ['--import', 'tsx', cli, 'models', 'demo', '--data', dataDir], { cwd: REPO_ROOT, stdio: 'pipe', timeout: 600_000 });
}

export interface ServerProcess {
  url: string;
  dataDir: string;
  /** Everything the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a real USO Studio server process on a free loopback port with a fresh data directory (or `dataDir`), through
 * the server package's entry (`startServer` with `serve`'s flags). `extraPacks` are absolute pack paths.
 */
export async function startServerProcess(options: { dataDir?: string; extraPacks?: string[]; args?: string[] } = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'uso-e2e-'));
  mkdirSync(dataDir, { recursive: true });
  // The server package's own entry runs `startServer` with `serve`'s flags (the CLI's `serve` does the same).
  const entry = [join(REPO_ROOT, 'packages/server/src/main.ts')];
  const args = ['--import', 'tsx', ...entry, '--port', '0', '--data', dataDir, ...(options.extraPacks?.length ? ['--extra-packs', options.extraPacks.join(',')] : []), ...(options.args ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    dataDir,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until the editor says it is ready (node types and the first workflow loaded). */
export async function waitForEditor(page: Page, timeoutMs = 20_000): Promise<void> {
  await page.waitForSelector('.app[data-ready="true"]', { timeout: timeoutMs });
}
