import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONE_PIXEL_PNG } from './test-support/test-pack.ts';
import { startTestServer, tempDataDir } from './test-support/harness.ts';
import type { TestServer } from './test-support/harness.ts';

let server: TestServer;
let outside: string;

/** A raw GET, so the path reaches the server exactly as written (fetch would normalise dot segments). */
function rawGet(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function upload(fields: Record<string, string>, file?: { name: string; bytes: Uint8Array }, target = server) {
  const form = new FormData();
  if (file) form.append('image', new Blob([file.bytes]), file.name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${target.url}/upload/image`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  server = await startTestServer();
  outside = tempDataDir();
  writeFileSync(join(outside, 'secret.png'), ONE_PIXEL_PNG);
  writeFileSync(join(server.dirs.outputDir, 'ok.png'), ONE_PIXEL_PNG);
  mkdirSync(join(server.dirs.outputDir, 'sub'));
  writeFileSync(join(server.dirs.outputDir, 'sub', 'deep.png'), ONE_PIXEL_PNG);
  symlinkSync(join(outside, 'secret.png'), join(server.dirs.outputDir, 'link.png'));
  symlinkSync(outside, join(server.dirs.outputDir, 'linkdir'));
  symlinkSync(outside, join(server.dirs.inputDir, 'linkdir'));
  for (const ext of ['html', 'svg', 'js', 'xml', 'unknownext']) writeFileSync(join(server.dirs.outputDir, `evil.${ext}`), '<script>alert(1)</script>');
});
afterAll(async () => {
  await server?.dispose();
});

describe('/view', () => {
  it('serves files in output, a subfolder, and the other folders', async () => {
    expect((await rawGet('/view?filename=ok.png&type=output')).status).toBe(200);
    expect((await rawGet('/view?filename=ok.png')).status).toBe(200);
    expect((await rawGet('/api/view?filename=deep.png&subfolder=sub&type=output')).status).toBe(200);
    expect((await rawGet('/view?filename=ok.png%20%5Boutput%5D&type=input')).status).toBe(200);
    expect((await rawGet('/view?filename=missing.png')).status).toBe(404);
  });

  it.each([
    ['dot-dot filename', '/view?filename=../uso-studio.sqlite', [400]],
    ['encoded slash', '/view?filename=..%2Fuso-studio.sqlite', [400]],
    ['absolute filename', '/view?filename=/etc/passwd', [400]],
    ['backslashes', '/view?filename=..%5C..%5Cuso-studio.sqlite', [400]],
    ['NUL byte', '/view?filename=ok.png%00.txt', [400]],
    ['hidden dot file', '/view?filename=.env', [400]],
    ['dot-dot subfolder', '/view?filename=uso-studio.sqlite&subfolder=..', [403]],
    ['subfolder into a sibling', '/view?filename=x.png&subfolder=../input', [403]],
    ['nested dot-dot', '/view?filename=uso-studio.sqlite&subfolder=sub/../..', [403]],
    ['absolute subfolder', '/view?filename=passwd&subfolder=/etc', [403]],
    ['encoded absolute subfolder', '/view?filename=passwd&subfolder=%2Fetc', [403]],
    ['backslash subfolder', '/view?filename=x&subfolder=..%5C', [403]],
    ['double-encoded dot-dot stays literal', '/view?filename=%252e%252e%252fuso-studio.sqlite', [404]],
    ['overlong UTF-8 stays literal', '/view?filename=%c0%ae%c0%ae%c0%afuso-studio.sqlite', [400, 404]],
    ['fullwidth dots are not dots', '/view?filename=%EF%BC%8E%EF%BC%8E%EF%BC%8Fuso-studio.sqlite', [404]],
    ['symlinked file out of the folder', '/view?filename=link.png', [403]],
    ['symlinked folder out of the folder', '/view?filename=secret.png&subfolder=linkdir', [403]],
    ['unknown type', '/view?filename=ok.png&type=../', [400]],
    ['repeated filename', '/view?filename=ok.png&filename=ok.png', [400]],
    ['over-long name', `/view?filename=${'a'.repeat(300)}.png`, [400]],
    ['bad preview', '/view?filename=ok.png&preview=gif;9', [400]],
    ['bad channel', '/view?filename=ok.png&channel=x', [400]],
    ['dot segments in the path', '/view/../uso-studio.sqlite', [404]],
  ])('refuses %s', async (_name, path, statuses) => {
    const res = await rawGet(path);
    expect(statuses).toContain(res.status);
    expect(res.body.includes(Buffer.from('SQLite format'))).toBe(false);
    expect(res.body.includes(ONE_PIXEL_PNG)).toBe(false);
    expect(String(res.headers['content-type'])).toMatch(/json/);
  });

  it('serves HTML, SVG, JS, XML and unknown types only as downloads', async () => {
    for (const ext of ['html', 'svg', 'js', 'xml', 'unknownext']) {
      const res = await rawGet(`/view?filename=evil.${ext}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(String(res.headers['content-disposition'])).toMatch(/^attachment/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(String(res.headers['content-security-policy'])).toContain('sandbox');
    }
  });

  it('converts with preview=webp|jpeg;quality and picks channels', async () => {
    const webp = await rawGet('/view?filename=ok.png&preview=webp;50');
    expect(webp.headers['content-type']).toBe('image/webp');
    expect((await sharp(webp.body).metadata()).format).toBe('webp');
    const jpeg = await rawGet('/view?filename=ok.png&preview=jpeg;90');
    expect((await sharp(jpeg.body).metadata()).format).toBe('jpeg');
    const rgb = await rawGet('/view?filename=ok.png&channel=rgb');
    expect((await sharp(rgb.body).metadata()).channels).toBe(3);
    const alpha = await rawGet('/view?filename=ok.png&channel=a');
    const raw = await sharp(alpha.body).raw().toBuffer({ resolveWithObject: true });
    expect(raw.info.channels).toBe(4);
    const src = await sharp(ONE_PIXEL_PNG).ensureAlpha().raw().toBuffer();
    expect([...raw.data]).toEqual([0, 0, 0, src[3]]);
  });
});

describe('/upload/image', () => {
  const png2 = () => sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 9, g: 8, b: 7 } } }).png().toBuffer();

  it('stores an image, reuses an identical file and renames a different one', async () => {
    const first = await upload({}, { name: 'pic.png', bytes: ONE_PIXEL_PNG });
    expect(first).toEqual({ status: 200, body: { name: 'pic.png', subfolder: '', type: 'input' } });
    const again = await upload({}, { name: 'pic.png', bytes: ONE_PIXEL_PNG });
    expect(again.body.name).toBe('pic.png');
    const other = await png2();
    const renamed = await upload({}, { name: 'pic.png', bytes: other });
    expect(renamed.body.name).toBe('pic (1).png');
    expect((await upload({}, { name: 'pic.png', bytes: other })).body.name).toBe('pic (1).png');
    expect(readdirSync(server.dirs.inputDir).filter((f) => f.startsWith('pic')).sort()).toEqual(['pic (1).png', 'pic.png']);
    const over = await upload({ overwrite: 'true' }, { name: 'pic.png', bytes: other });
    expect(over.body.name).toBe('pic.png');
    const view = await rawGet('/view?filename=pic.png&type=input');
    expect(view.body.equals(other)).toBe(true);
  });

  it('writes into a subfolder and other types', async () => {
    const r = await upload({ subfolder: 'a/b', type: 'temp' }, { name: 'x.png', bytes: ONE_PIXEL_PNG });
    expect(r.body).toEqual({ name: 'x.png', subfolder: 'a/b', type: 'temp' });
    expect(existsSync(join(server.dirs.tempDir, 'a', 'b', 'x.png'))).toBe(true);
  });

  it.each([
    ['dot-dot subfolder', { subfolder: '../output' }, 403],
    ['absolute subfolder', { subfolder: '/tmp' }, 403],
    ['nested dot-dot', { subfolder: 'a/../../x' }, 403],
    ['backslash subfolder', { subfolder: '..\\x' }, 403],
    ['symlinked subfolder', { subfolder: 'linkdir/new' }, 403],
    ['unknown type', { type: 'models' }, 400],
  ])('refuses %s', async (_n, fields, status) => {
    const r = await upload(fields, { name: 'esc.png', bytes: ONE_PIXEL_PNG });
    expect(r.status).toBe(status);
    expect(existsSync(join(outside, 'new'))).toBe(false);
    expect(readdirSync(outside)).toEqual(['secret.png']);
  });

  it('keeps only the base name of a path-like file name', async () => {
    const r = await upload({}, { name: '../../escape.png', bytes: ONE_PIXEL_PNG });
    expect(r.status).toBe(200);
    expect(r.body.name).toBe('escape.png');
    expect(existsSync(join(server.dirs.inputDir, 'escape.png'))).toBe(true);
  });

  it('refuses files that are not images, SVG, and non-image names', async () => {
    expect((await upload({}, { name: 'a.png', bytes: Buffer.from('not an image at all') })).status).toBe(400);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>alert(1)</script></svg>');
    expect((await upload({}, { name: 'a.png', bytes: svg })).status).toBe(400);
    expect((await upload({}, { name: 'a.svg', bytes: svg })).status).toBe(400);
    expect((await upload({}, { name: 'page.html', bytes: ONE_PIXEL_PNG })).status).toBe(400);
    expect((await upload({}, { name: '.hidden.png', bytes: ONE_PIXEL_PNG })).status).toBe(400);
    expect((await upload({ subfolder: 'x' })).status).toBe(400);
    expect(existsSync(join(server.dirs.inputDir, 'a.png'))).toBe(false);
    expect(readdirSync(server.dirs.tempDir).filter((f) => f.startsWith('.upload-'))).toEqual([]);
  });

  it('refuses non-multipart and broken multipart bodies', async () => {
    const json = await fetch(`${server.url}/upload/image`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const broken = await fetch(`${server.url}/upload/image`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
      body: '--zzz\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc',
    });
    expect(broken.status).toBe(400);
  });

  it('limits the upload size', async () => {
    const small = await startTestServer({ maxUploadBytes: 1000 });
    try {
      const big = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } }).png({ compressionLevel: 0 }).toBuffer();
      expect(big.length).toBeGreaterThan(1000);
      const r = await upload({}, { name: 'big.png', bytes: big }, small);
      expect(r.status).toBe(413);
      expect(existsSync(join(small.dirs.inputDir, 'big.png'))).toBe(false);
      expect((await upload({}, { name: 'ok.png', bytes: ONE_PIXEL_PNG }, small)).status).toBe(200);
    } finally {
      await small.dispose();
    }
  });
});
