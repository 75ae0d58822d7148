import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startTestServer, tempDataDir } from '../test-support/harness.ts';
import type { TestServer } from '../test-support/harness.ts';

let server: TestServer;
let userDir: string;

beforeAll(async () => {
  server = await startTestServer();
  userDir = join(server.dataDir, 'user', 'default');
});
afterAll(async () => {
  await server?.dispose();
});

const post = (path: string, body: string | Buffer, query = '') =>
  fetch(`${server.url}${path}${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

describe('/users and /settings (ComfyUI app/user_manager.py, app_settings.py)', () => {
  it('GET /users in single-user mode says server storage and whether the user folder exists', async () => {
    const before = await getJson(`${server.url}/users`);
    expect(before.body).toEqual({ storage: 'server', migrated: existsSync(userDir) });
    expect((await postJson(`${server.url}/settings/Comfy.Locale`, '"en"')).status).toBe(200);
    expect((await getJson(`${server.url}/api/users`)).body).toEqual({ storage: 'server', migrated: true });
  });

  it('stores settings per key and merged, persisted in the data directory with 4-space JSON', async () => {
    expect((await postJson(`${server.url}/settings`, { 'Comfy.A': 1, 'Comfy.B': { x: [1, 2] } })).status).toBe(200);
    const one = await post('/settings/Comfy.Bool', 'true');
    expect(one.status).toBe(200);
    expect(await one.text()).toBe('');
    const all = await getJson(`${server.url}/settings`);
    expect(all.body).toMatchObject({ 'Comfy.A': 1, 'Comfy.B': { x: [1, 2] }, 'Comfy.Bool': true, 'Comfy.Locale': 'en' });
    expect((await getJson(`${server.url}/settings/Comfy.B`)).body).toEqual({ x: [1, 2] });
    // An unknown id answers JSON null, as ComfyUI does.
    const missing = await fetch(`${server.url}/api/settings/Nope`);
    expect(missing.status).toBe(200);
    expect(await missing.text()).toBe('null');
    const file = readFileSync(join(userDir, 'comfy.settings.json'), 'utf8');
    expect(JSON.parse(file)).toEqual(all.body);
    expect(file).toContain('\n    "Comfy.A": 1');
  });

  it('refuses a settings body that is not an object, keeping what was stored', async () => {
    expect((await post('/settings', '[1,2]')).status).toBe(400);
    expect((await post('/settings', '{bad json')).status).toBe(400);
    expect((await getJson(`${server.url}/settings/Comfy.A`)).body).toBe(1);
  });

  it('survives a corrupt settings file (reads as empty) and concurrent posts lose no key', async () => {
    writeFileSync(join(userDir, 'comfy.settings.json'), '{not json');
    expect((await getJson(`${server.url}/settings`)).body).toEqual({});
    await Promise.all(Array.from({ length: 20 }, (_, i) => postJson(`${server.url}/settings/k${i}`, i)));
    const all = (await getJson(`${server.url}/settings`)).body as Record<string, number>;
    for (let i = 0; i < 20; i++) expect(all[`k${i}`]).toBe(i);
  });
});

describe('/userdata (ComfyUI app/user_manager.py)', () => {
  it('POST writes a file (path encoded in one segment), GET returns it, overwrite=false answers 409', async () => {
    const body = JSON.stringify({ nodes: [], version: 0.4 });
    const res = await post('/userdata/workflows%2Fmy%20flow.json', body);
    expect(res.status).toBe(200);
    expect(await res.json()).toBe('workflows/my flow.json');
    expect(readFileSync(join(userDir, 'workflows', 'my flow.json'), 'utf8')).toBe(body);
    const got = await fetch(`${server.url}/api/userdata/workflows%2Fmy%20flow.json`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toMatch(/application\/json/);
    expect(await got.text()).toBe(body);
    expect((await post('/userdata/workflows%2Fmy%20flow.json', '{}', '?overwrite=false')).status).toBe(409);
    expect(readFileSync(join(userDir, 'workflows', 'my flow.json'), 'utf8')).toBe(body);
  });

  it('full_info=true answers {path, size, modified, created} in seconds', async () => {
    const res = await post('/userdata/workflows%2Fb.json', '{"b":1}', '?full_info=true');
    const info = (await res.json()) as { path: string; size: number; modified: number; created: number };
    expect(info).toEqual({ path: 'workflows/b.json', size: 7, modified: expect.any(Number), created: expect.any(Number) });
    expect(Math.abs(info.modified - Date.now() / 1000)).toBeLessThan(60);
  });

  it('lists a folder: plain, recursive, split and full_info; 400 without dir, 404 for a missing one', async () => {
    await post('/userdata/workflows%2Fsub%2Fc.json', '{}');
    await post('/userdata/workflows%2F.hidden.json', '{}');
    expect((await getJson(`${server.url}/userdata?dir=workflows`)).body).toEqual(['b.json', 'my flow.json']);
    expect((await getJson(`${server.url}/userdata?dir=workflows&recurse=true`)).body).toEqual(['b.json', 'my flow.json', 'sub/c.json']);
    expect((await getJson(`${server.url}/userdata?dir=workflows&recurse=true&split=true`)).body).toContainEqual(['sub/c.json', 'sub', 'c.json']);
    const full = (await getJson(`${server.url}/userdata?dir=workflows&full_info=true`)).body as { path: string; size: number }[];
    expect(full.map((f) => [f.path, f.size])).toEqual([['b.json', 7], ['my flow.json', 26]]);
    expect((await getJson(`${server.url}/userdata`)).status).toBe(400);
    expect((await getJson(`${server.url}/userdata?dir=nothing-here`)).status).toBe(404);
  });

  it('/v2/userdata lists folders first then files, with paths from the user root', async () => {
    const list = (await getJson(`${server.url}/v2/userdata?path=workflows`)).body as { name: string; type: string; path: string }[];
    expect(list.map((e) => [e.type, e.path])).toEqual([
      ['directory', 'workflows/sub'],
      ['file', 'workflows/b.json'],
      ['file', 'workflows/sub/c.json'],
      ['file', 'workflows/my flow.json'],
    ]);
    expect((await getJson(`${server.url}/v2/userdata?path=workflows%2Fb.json`)).status).toBe(400);
  });

  it('moves with overwrite and full_info rules, then deletes with 204', async () => {
    await post('/userdata/workflows%2Fd.json', '{"d":1}');
    expect((await fetch(`${server.url}/userdata/workflows%2Fd.json/move/workflows%2Fb.json?overwrite=false`, { method: 'POST' })).status).toBe(409);
    const moved = await fetch(`${server.url}/userdata/workflows%2Fd.json/move/workflows%2Fnew%2Fe.json`, { method: 'POST' });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toBe('workflows/new/e.json');
    expect(existsSync(join(userDir, 'workflows', 'd.json'))).toBe(false);
    expect(readFileSync(join(userDir, 'workflows', 'new', 'e.json'), 'utf8')).toBe('{"d":1}');
    expect((await fetch(`${server.url}/userdata/workflows%2Fmissing.json/move/x.json`, { method: 'POST' })).status).toBe(404);
    const del = await fetch(`${server.url}/userdata/workflows%2Fnew%2Fe.json`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(existsSync(join(userDir, 'workflows', 'new', 'e.json'))).toBe(false);
    expect((await fetch(`${server.url}/userdata/workflows%2Fnew%2Fe.json`, { method: 'DELETE' })).status).toBe(404);
  });

  it('never leaves the user folder: dot parts, double-encoded escapes, backslashes, symlinks', async () => {
    writeFileSync(join(server.dataDir, 'secret.txt'), 'secret');
    mkdirSync(join(server.dataDir, 'outside'), { recursive: true });
    symlinkSync(join(server.dataDir, 'outside'), join(userDir, 'link'));
    symlinkSync(join(server.dataDir, 'outside', 'dangling.json'), join(userDir, 'dangling.json'));
    const attempts = [
      '..%2F..%2Fsecret.txt', '%252E%252E%252F%252E%252E%252Fsecret.txt', '..%5C..%5Csecret.txt', 'a%2F..%2F..%2F..%2Fsecret.txt',
      'link%2Fx.json', 'dangling.json',
    ];
    for (const a of attempts) {
      const get = await fetch(`${server.url}/userdata/${a}`);
      expect([403, 404], a).toContain(get.status);
      expect(await get.text(), a).not.toContain('secret');
      const put = await post(`/userdata/${a}`, 'pwned');
      expect(put.status, a).toBe(403);
    }
    expect(readFileSync(join(server.dataDir, 'secret.txt'), 'utf8')).toBe('secret');
    expect(existsSync(join(server.dataDir, 'outside', 'x.json'))).toBe(false);
    expect(existsSync(join(server.dataDir, 'outside', 'dangling.json'))).toBe(false);
    expect((await getJson(`${server.url}/userdata?dir=..`)).status).toBe(403);
    expect((await fetch(`${server.url}/userdata/workflows%2Fb.json/move/..%2F..%2Fsecret.txt`, { method: 'POST' })).status).toBe(403);
    expect(readFileSync(join(server.dataDir, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('serves stored HTML or script only as a download', async () => {
    await post('/userdata/page.html', '<script>alert(1)</script>');
    const res = await fetch(`${server.url}/userdata/page.html`);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe('attachment');
    const css = await post('/userdata/user.css', 'body{}');
    expect(css.status).toBe(200);
    expect((await fetch(`${server.url}/userdata/user.css`)).headers.get('content-type')).toMatch(/^text\/css/);
  });
});

describe('multi-user mode', () => {
  it('POST /users creates a user whose settings are separate; an unknown comfy-user is refused', async () => {
    const dataDir = tempDataDir();
    const multi = await startTestServer({ dataDir, multiUser: true });
    try {
      expect((await getJson(`${multi.url}/users`)).body).toEqual({ storage: 'server', users: {} });
      const created = await postJson(`${multi.url}/users`, { username: 'Ann Lee' });
      expect(created.status).toBe(200);
      const id = created.body as string;
      expect(id).toMatch(/^Ann-Lee_[0-9a-f-]{36}$/);
      expect((await postJson(`${multi.url}/users`, { username: 'Ann Lee' })).status).toBe(400);
      expect((await postJson(`${multi.url}/settings/x`, 5, { 'comfy-user': id })).status).toBe(200);
      expect((await getJson(`${multi.url}/settings`, { 'comfy-user': id })).body).toEqual({ x: 5 });
      expect((await getJson(`${multi.url}/settings`, { 'comfy-user': 'someone' })).status).toBe(403);
      expect((await getJson(`${multi.url}/settings`, { 'comfy-user': '..' })).status).toBe(403);
      expect(JSON.parse(readFileSync(join(dataDir, 'user', 'users.json'), 'utf8'))).toEqual({ [id]: 'Ann Lee' });
    } finally {
      await multi.dispose();
    }
  });
});
