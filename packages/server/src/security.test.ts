import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackAddress, parseAuthority } from './security.ts';
import { UnsafeListenError, createServer } from './server.ts';
import { TestClient, postJson, sleepPrompt, startTestServer, tempDataDir } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';

function raw(server: TestServer, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('address helpers', () => {
  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1', '::ffff:10.0.0.1']) expect(isLoopbackAddress(a), a).toBe(false);
    expect(parseAuthority('[::1]:8188')).toEqual({ hostname: '::1', port: 8188 });
    expect(parseAuthority('LocalHost:80')).toEqual({ hostname: 'localhost', port: 80 });
    expect(parseAuthority('127.0.0.1')).toEqual({ hostname: '127.0.0.1', port: undefined });
    for (const bad of ['127.0.0.1:8188.evil.example', '127.0.0.1:8188:1', '127.0.0.1:', '127.0.0.1:99999', 'a@127.0.0.1:1', '127.0.0.1:0x1f']) {
      expect(parseAuthority(bad), bad).toBeUndefined();
    }
  });
});

describe('listening beyond loopback', () => {
  it('refuses without a token, with a message naming the fix', async () => {
    await expect(createServer({ listen: '0.0.0.0', port: 0, dataDir: tempDataDir() })).rejects.toThrow(UnsafeListenError);
    await expect(createServer({ listen: '0.0.0.0', port: 0, dataDir: tempDataDir() })).rejects.toThrow(/--auth-token/);
  });

  it('refuses an empty token file', async () => {
    const dir = tempDataDir();
    writeFileSync(join(dir, 'token'), '  \n');
    await expect(createServer({ listen: '0.0.0.0', port: 0, dataDir: dir, authTokenFile: join(dir, 'token') })).rejects.toThrow(/empty/);
  });
});

describe('without a token (loopback)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ executionPaused: true, allowedOrigins: ['http://localhost:5173'] });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('lets configured origins (a dev server) through', async () => {
    expect(await raw(server, 'POST', '/queue', { origin: 'http://localhost:5173' }, '{}')).toBe(200);
    expect(await raw(server, 'POST', '/queue', { origin: 'http://localhost:5174' }, '{}')).toBe(403);
  });

  it('rejects cross-site state-changing requests and allows same-origin ones', async () => {
    const body = JSON.stringify({ prompt: sleepPrompt(1) });
    const host = new URL(server.url).host;
    expect(await raw(server, 'POST', '/prompt', { origin: 'https://evil.example', 'content-type': 'text/plain' }, body)).toBe(403);
    expect(await raw(server, 'POST', '/interrupt', { origin: 'null' }, '{}')).toBe(403);
    expect(await raw(server, 'POST', '/queue', { 'sec-fetch-site': 'cross-site' }, '{"clear":true}')).toBe(403);
    expect(await raw(server, 'POST', '/prompt', { origin: `http://${host}`, 'content-type': 'application/json' }, body)).toBe(200);
    // Reads are not state-changing: a cross-origin GET is answered (the browser's same-origin policy hides the body).
    expect(await raw(server, 'GET', '/queue', { origin: 'https://evil.example' })).toBe(200);
  });

  it('rejects a non-loopback Host header (DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    expect(await raw(server, 'GET', '/queue', { host: `evil.example:${port}` })).toBe(403);
    expect(await raw(server, 'GET', '/queue', { host: `localhost:${port}` })).toBe(200);
    expect(await raw(server, 'GET', '/queue', { host: `[::1]:${port}` })).toBe(200);
  });

  it('matches the Host port exactly: no trailing text, no other port', async () => {
    const port = Number(new URL(server.url).port);
    expect(await raw(server, 'GET', '/queue', { host: `127.0.0.1:${port}.evil.example` })).toBe(403);
    expect(await raw(server, 'GET', '/queue', { host: `127.0.0.1:${port}evil` })).toBe(403);
    expect(await raw(server, 'GET', '/queue', { host: `127.0.0.1:${port === 65535 ? port - 1 : port + 1}` })).toBe(403);
    expect(await raw(server, 'GET', '/queue', { host: `127.0.0.1:${port}` })).toBe(200);
    // The dev server's proxy keeps its own Host; its origin is allowed, so its Host is too.
    expect(await raw(server, 'GET', '/queue', { host: 'localhost:5173' })).toBe(200);
  });

  it('refuses a cross-site WebSocket', async () => {
    const c = new TestClient(`${server.url.replace('http', 'ws')}/ws?clientId=x`, { origin: 'https://evil.example' });
    await expect(c.opened).rejects.toThrow(/403/);
  });
});

describe('with a token', () => {
  let server: TestServer;
  const token = 's3cret-token';
  beforeAll(async () => {
    server = await startTestServer({ authToken: token, executionPaused: true });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('requires Authorization: Bearer on every route', async () => {
    for (const path of ['/queue', '/history', '/object_info', '/system_stats', '/view?filename=a.png', '/api/features', '/']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status, path).toBe(401);
    }
    expect((await fetch(`${server.url}/queue`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1) })).status).toBe(401);
    expect((await postJson(`${server.url}/prompt`, { prompt: sleepPrompt(1) }, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('lets a browser in with ?token= on a GET and then a SameSite=Strict cookie', async () => {
    const first = await fetch(`${server.url}/queue?token=${token}`);
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/HttpOnly/);
    expect((await fetch(`${server.url}/queue`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    // A query token never authorises a state-changing request.
    expect((await postJson(`${server.url}/queue?token=${token}`, { clear: true })).status).toBe(401);
  });

  it('accepts the WebSocket token as a query parameter or as the first message', async () => {
    const byQuery = await TestClient.connect(server, 'q', `&token=${token}`);
    expect((await byQuery.waitFor((m) => m.type === 'status')).data.sid).toBe('q');
    byQuery.close();

    const byMessage = new TestClient(`${server.url.replace('http', 'ws')}/ws?clientId=m`);
    await byMessage.opened;
    byMessage.ws.send(JSON.stringify({ type: 'auth', token }));
    expect((await byMessage.waitFor((m) => m.type === 'status')).data.sid).toBe('m');
    byMessage.close();

    const wrong = new TestClient(`${server.url.replace('http', 'ws')}/ws?clientId=w`);
    await wrong.opened;
    const closed = new Promise<number>((resolve) => wrong.ws.once('close', (code) => resolve(code)));
    wrong.ws.send(JSON.stringify({ type: 'auth', token: 'nope' }));
    expect(await closed).toBe(4401);
    expect(wrong.messages).toEqual([]);

    const badQuery = new TestClient(`${server.url.replace('http', 'ws')}/ws?clientId=b&token=nope`);
    await badQuery.opened;
    const code = await new Promise<number>((resolve) => badQuery.ws.once('close', (c) => resolve(c)));
    expect(code).toBe(4401);
    expect(badQuery.messages).toEqual([]);
  });
});
