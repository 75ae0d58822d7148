import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPngTextChunks, readPngTextChunks } from '@uso-studio/core';
import { writeSafetensors } from '@uso-studio/runtime';
import { TestClient, getJson, startTestServer } from '../test-support/harness.ts';
import type { TestServer } from '../test-support/harness.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ log: () => {} });
});
afterAll(async () => {
  await server?.dispose();
});

function weights() {
  return { w: { dtype: 'F32' as const, shape: [1], data: new Float32Array([1]) } };
}

describe('model routes (app/model_manager.py, server.py view_metadata)', () => {
  beforeAll(() => {
    const loras = join(server.dirs.modelsDir, 'loras');
    mkdirSync(join(loras, 'styles'), { recursive: true });
    writeSafetensors(join(loras, 'styles', 'ink.safetensors'), weights(), { ss_network_dim: '16', modelspec_title: 'Ink' });
    writeSafetensors(join(loras, 'plain.safetensors'), weights());
    writeFileSync(join(loras, 'notes.txt'), 'not a model');
    writeFileSync(join(loras, '.hidden.safetensors'), 'x');
    mkdirSync(join(server.dirs.modelsDir, 'clip'), { recursive: true });
    writeSafetensors(join(server.dirs.modelsDir, 'clip', 'clip_l.safetensors'), weights());
  });

  it('/experiment/models lists ComfyUI folders with their absolute paths', async () => {
    const res = await getJson(`${server.url}/api/experiment/models`);
    expect(res.status).toBe(200);
    const byName = new Map((res.body as { name: string; folders: string[] }[]).map((f) => [f.name, f.folders]));
    expect(byName.get('loras')).toEqual([join(server.dirs.modelsDir, 'loras')]);
    expect(byName.get('text_encoders')).toEqual([join(server.dirs.modelsDir, 'text_encoders'), join(server.dirs.modelsDir, 'clip')]);
    expect(byName.has('configs')).toBe(false);
    expect(byName.has('custom_nodes')).toBe(false);
  });

  it('/experiment/models/{folder} lists weight files with pathIndex, times and size; 404 for an unknown folder', async () => {
    const res = await getJson(`${server.url}/experiment/models/loras`);
    const files = res.body as { name: string; pathIndex: number; size: number; modified: number; created: number }[];
    expect(files.map((f) => f.name)).toEqual(['plain.safetensors', 'styles/ink.safetensors']);
    expect(files[0]).toMatchObject({ pathIndex: 0, size: readFileSync(join(server.dirs.modelsDir, 'loras', 'plain.safetensors')).length });
    expect(files[0]!.modified).toBeGreaterThan(1e9);
    expect(files[0]!.modified).toBeLessThan(1e11);
    // Legacy names map as ComfyUI's map_legacy does; clip/ is the second path of text_encoders.
    expect((await getJson(`${server.url}/experiment/models/clip`)).body).toMatchObject([{ name: 'clip_l.safetensors', pathIndex: 1 }]);
    expect((await getJson(`${server.url}/experiment/models/nope`)).status).toBe(404);
  });

  it('/experiment/models/{folder} never lists a link that leads out of the models folder', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'uso-outside-'));
    writeFileSync(join(outside, 'secret.safetensors'), 'x');
    const link = join(server.dirs.modelsDir, 'loras', 'leak.safetensors');
    symlinkSync(join(outside, 'secret.safetensors'), link);
    try {
      const names = ((await getJson(`${server.url}/experiment/models/loras`)).body as { name: string }[]).map((f) => f.name);
      expect(names).toEqual(['plain.safetensors', 'styles/ink.safetensors']);
    } finally {
      rmSync(link);
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('/view_metadata/{folder} answers the __metadata__ of a safetensors file, 404 otherwise', async () => {
    const res = await getJson(`${server.url}/view_metadata/loras?filename=styles/ink.safetensors`);
    expect(res).toEqual({ status: 200, body: { ss_network_dim: '16', modelspec_title: 'Ink' } });
    expect((await getJson(`${server.url}/api/view_metadata/loras?filename=plain.safetensors`)).status).toBe(404);
    expect((await getJson(`${server.url}/view_metadata/loras?filename=notes.txt`)).status).toBe(404);
    expect((await getJson(`${server.url}/view_metadata/loras?filename=../../uso-studio.sqlite.safetensors`)).status).toBe(404);
    expect((await getJson(`${server.url}/view_metadata/nope?filename=a.safetensors`)).status).toBe(404);
  });

  it('/experiment/models/preview serves a sibling picture as WebP', async () => {
    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#f00' } }).png().toBuffer();
    writeFileSync(join(server.dirs.modelsDir, 'loras', 'styles', 'ink.preview.png'), png);
    const res = await fetch(`${server.url}/experiment/models/preview/loras/0/styles/ink.safetensors`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 4, 3]);
    expect((await fetch(`${server.url}/experiment/models/preview/loras/0/plain.safetensors`)).status).toBe(404);
    expect((await fetch(`${server.url}/experiment/models/preview/loras/5/plain.safetensors`)).status).toBe(404);
  });
});

describe('internal routes (api_server/routes/internal)', () => {
  it('/internal/folder_paths maps each folder to its paths', async () => {
    const res = await getJson(`${server.url}/internal/folder_paths`);
    expect(res.body.diffusion_models).toEqual([join(server.dirs.modelsDir, 'unet'), join(server.dirs.modelsDir, 'diffusion_models')]);
    expect((await getJson(`${server.url}/api/internal/folder_paths`)).status).toBe(200);
  });

  it('/internal/files/{type} lists plain files newest first; 400 for another type', async () => {
    const dir = server.dirs.inputDir;
    writeFileSync(join(dir, 'old.png'), 'a');
    writeFileSync(join(dir, 'new.png'), 'b');
    mkdirSync(join(dir, 'folder'), { recursive: true });
    utimesSync(join(dir, 'old.png'), new Date(2020, 1, 1), new Date(2020, 1, 1));
    const res = await getJson(`${server.url}/internal/files/input`);
    expect(res.body).toEqual(['new.png', 'old.png']);
    expect(await getJson(`${server.url}/internal/files/models`)).toEqual({ status: 400, body: { error: 'Invalid directory type' } });
  });

  it('/internal/logs and /logs/raw return the server log; subscribers get `logs` messages', async () => {
    const logged = await startTestServer({ log: () => {} });
    try {
      const client = await TestClient.connect(logged, 'logger');
      const sub = await fetch(`${logged.url}/internal/logs/subscribe`, { method: 'PATCH', body: JSON.stringify({ clientId: 'logger', enabled: true }) });
      expect(sub.status).toBe(200);
      // A worker crash is logged by the server; queueing one makes a log line.
      await fetch(`${logged.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: { '1': { class_type: 'SrvCrash', inputs: {} } } }) });
      const msg = await client.waitFor((m) => m.type === 'logs');
      const entries = msg.data.entries as { t: string; m: string }[];
      expect(entries[0]!.m).toMatch(/\n$/);
      expect(Date.parse(entries[0]!.t)).not.toBeNaN();
      const raw = await getJson(`${logged.url}/internal/logs/raw`);
      expect(raw.body.size).toEqual({ cols: 80, rows: 24 });
      expect(raw.body.entries.length).toBeGreaterThan(0);
      const text = await getJson(`${logged.url}/internal/logs`);
      expect(text.body).toBe(raw.body.entries.map((e: { t: string; m: string }) => `${e.t} - ${e.m}`).join(''));
      client.close();
    } finally {
      await logged.dispose();
    }
  });
});

describe('/i18n and /workflow_templates (app/custom_node_manager.py)', () => {
  it('answers translations and templates with their JSON', async () => {
    expect(await getJson(`${server.url}/i18n`)).toEqual({ status: 200, body: {} });
    const list = await getJson(`${server.url}/api/workflow_templates`);
    const names = list.body['uso-studio'] as string[];
    expect(names).toContain('uso-style-subject');
    const one = await getJson(`${server.url}/api/workflow_templates/uso-studio/uso-style-subject.json`);
    expect(one.status).toBe(200);
    expect(one.body.nodes.length).toBeGreaterThan(0);
    expect((await getJson(`${server.url}/api/workflow_templates/uso-studio/..%2Fpackage.json`)).status).not.toBe(200);
    expect((await getJson(`${server.url}/api/workflow_templates/other/uso-style-subject.json`)).status).toBe(404);
  });
});

describe('/upload/mask (server.py upload_mask)', () => {
  async function uploadMask(mask: Buffer, fields: Record<string, string>) {
    const form = new FormData();
    form.append('image', new Blob([mask]), 'clipspace-mask-1.png');
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const res = await fetch(`${server.url}/upload/mask`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as any };
  }

  it("stores the original with the mask's alpha, keeping its PNG text", async () => {
    const rgb = Buffer.alloc(3 * 2 * 3);
    for (let i = 0; i < 6; i++) rgb.set([10 * i, 100, 200], i * 3);
    const plain = new Uint8Array(await sharp(rgb, { raw: { width: 3, height: 2, channels: 3 } }).png().toBuffer());
    const original = insertPngTextChunks(plain, { workflow: '{"nodes":[]}' });
    writeFileSync(join(server.dirs.inputDir, 'photo.png'), original);
    const maskRaw = Buffer.alloc(4 * 6);
    for (let i = 0; i < 6; i++) maskRaw.set([0, 0, 0, i * 40], i * 4);
    const mask = await sharp(maskRaw, { raw: { width: 3, height: 2, channels: 4 } }).png().toBuffer();

    const res = await uploadMask(mask, { original_ref: JSON.stringify({ filename: 'photo.png [input]' }), type: 'input', subfolder: 'clipspace' });
    expect(res).toEqual({ status: 200, body: { name: 'clipspace-mask-1.png', subfolder: 'clipspace', type: 'input' } });
    const stored = readFileSync(join(server.dirs.inputDir, 'clipspace', 'clipspace-mask-1.png'));
    const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    for (let i = 0; i < 6; i++) expect([...data.subarray(i * 4, i * 4 + 4)]).toEqual([10 * i, 100, 200, i * 40]);
    expect((await readPngTextChunks(stored)).workflow).toBe('{"nodes":[]}');
  });

  it('refuses a missing original, a size mismatch and an escaping reference', async () => {
    const mask = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer();
    expect((await uploadMask(mask, { original_ref: JSON.stringify({ filename: 'none.png', type: 'input' }) })).status).toBe(404);
    expect((await uploadMask(mask, { original_ref: JSON.stringify({ filename: 'secret.png', type: 'input', subfolder: '../..' }) })).status).toBe(403);
    expect((await uploadMask(mask, { original_ref: 'not json' })).status).toBe(400);
    expect((await uploadMask(mask, {})).status).toBe(400);
    const big = await sharp({ create: { width: 5, height: 5, channels: 4, background: '#000' } }).png().toBuffer();
    expect((await uploadMask(big, { original_ref: JSON.stringify({ filename: 'photo.png', type: 'input' }) })).status).toBe(400);
  });
});
