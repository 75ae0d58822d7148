import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDataDir } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';

describe('the editor build', () => {
  let server: TestServer;
  beforeAll(async () => {
    const dist = join(tempDataDir(), 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>USO Studio</title>');
    writeFileSync(join(dist, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(dist, '.secret'), 'no');
    server = await startTestServer({ editorDir: dist });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('is served at / next to the API', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('USO Studio');
    expect((await fetch(`${server.url}/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/api/queue`)).headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${server.url}/.secret`)).status).not.toBe(200);
  });

  it('is served at /api/ too, uncached, as ComfyUI registers its root under /api', async () => {
    const index = await fetch(`${server.url}/api/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('<title>USO Studio</title>');
  });

  it('answers a plain GET of /ws and /api/ws (no upgrade) with 400, as aiohttp does', async () => {
    for (const path of ['/ws', '/api/ws', '/ws?clientId=a']) {
      const res = await fetch(`${server.url}${path}`);
      expect([path, res.status]).toEqual([path, 400]);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/upgrade/i);
    }
  });
});

describe('without an editor build', () => {
  it('answers / with a short note', async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/editor is not built/);
      expect(await (await fetch(`${server.url}/api/`)).text()).toMatch(/editor is not built/);
    } finally {
      await server.dispose();
    }
  });
});
