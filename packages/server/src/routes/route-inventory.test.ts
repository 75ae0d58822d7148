/**
 * Every route ComfyUI 0.3.64 (commit a125cd84) registers, called at `/` and under `/api` on a real server: server.py's
 * routes, app/app_settings.py, app/user_manager.py, app/model_manager.py, app/custom_node_manager.py and
 * api_server/routes/internal/internal_routes.py. Each valid request gets the status ComfyUI answers it with, so a route
 * that goes missing (404) or changes its success status fails here. Shapes are tested next to each route's module.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '@uso-studio/runtime';
import { chainPrompt, startTestServer } from '../test-support/harness.ts';
import type { TestServer } from '../test-support/harness.ts';

let server: TestServer;
let png: Buffer;

beforeAll(async () => {
  server = await startTestServer({ log: () => {} });
  png = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 9, g: 9, b: 9, alpha: 0.5 } } }).png().toBuffer();
  writeFileSync(join(server.dirs.inputDir, 'photo.png'), png);
  const loras = join(server.dirs.modelsDir, 'loras');
  mkdirSync(loras, { recursive: true });
  writeSafetensors(join(loras, 'ink.safetensors'), { w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, { title: 'Ink' });
  writeFileSync(join(loras, 'ink.png'), png);
});
afterAll(async () => {
  await server?.dispose();
});

type Body = string | FormData | undefined;
interface Call {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  path: string;
  body?: () => Body;
  status: number;
}

const json = (value: unknown) => () => JSON.stringify(value);
function imageForm(fields: Record<string, string>): () => FormData {
  return () => {
    const form = new FormData();
    form.append('image', new Blob([png]), 'upload.png');
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    return form;
  };
}

/** ComfyUI's routes in its own order, with a request each accepts; `tag` keeps files apart between the two prefixes. */
function comfyRoutes(tag: string): Call[] {
  const file = encodeURIComponent(`workflows/${tag}.json`);
  const moved = encodeURIComponent(`workflows/${tag}-moved.json`);
  return [
    // server.py
    { method: 'GET', path: '/', status: 200 },
    { method: 'GET', path: '/ws', status: 400 },
    { method: 'GET', path: '/embeddings', status: 200 },
    { method: 'GET', path: '/models', status: 200 },
    { method: 'GET', path: '/models/loras', status: 200 },
    { method: 'GET', path: '/extensions', status: 200 },
    { method: 'POST', path: '/upload/image', body: imageForm({ overwrite: 'true' }), status: 200 },
    { method: 'POST', path: '/upload/mask', body: imageForm({ original_ref: JSON.stringify({ filename: 'photo.png', type: 'input' }) }), status: 200 },
    { method: 'GET', path: '/view?filename=photo.png&type=input', status: 200 },
    { method: 'GET', path: '/view_metadata/loras?filename=ink.safetensors', status: 200 },
    { method: 'GET', path: '/system_stats', status: 200 },
    { method: 'GET', path: '/features', status: 200 },
    { method: 'GET', path: '/prompt', status: 200 },
    { method: 'GET', path: '/object_info', status: 200 },
    { method: 'GET', path: '/object_info/SaveImage', status: 200 },
    { method: 'GET', path: '/history', status: 200 },
    { method: 'GET', path: '/history/unknown-prompt', status: 200 },
    { method: 'GET', path: '/queue', status: 200 },
    { method: 'POST', path: '/prompt', body: json({ prompt: chainPrompt(2) }), status: 200 },
    { method: 'POST', path: '/queue', body: json({ clear: false }), status: 200 },
    { method: 'POST', path: '/interrupt', body: json({}), status: 200 },
    { method: 'POST', path: '/free', body: json({ unload_models: false }), status: 200 },
    { method: 'POST', path: '/history', body: json({ delete: ['unknown-prompt'] }), status: 200 },
    // app/app_settings.py
    { method: 'GET', path: '/settings', status: 200 },
    { method: 'GET', path: '/settings/Comfy.Audit', status: 200 },
    { method: 'POST', path: '/settings', body: json({ 'Comfy.Audit': tag }), status: 200 },
    { method: 'POST', path: '/settings/Comfy.Audit', body: json(tag), status: 200 },
    // app/user_manager.py
    { method: 'GET', path: '/users', status: 200 },
    { method: 'POST', path: '/users', body: json({ username: `user-${tag}` }), status: 200 },
    { method: 'POST', path: `/userdata/${file}`, body: () => '{"nodes":[]}', status: 200 },
    { method: 'GET', path: '/userdata?dir=workflows', status: 200 },
    { method: 'GET', path: '/v2/userdata', status: 200 },
    { method: 'GET', path: `/userdata/${file}`, status: 200 },
    { method: 'POST', path: `/userdata/${file}/move/${moved}`, status: 200 },
    { method: 'DELETE', path: `/userdata/${moved}`, status: 204 },
    // app/model_manager.py
    { method: 'GET', path: '/experiment/models', status: 200 },
    { method: 'GET', path: '/experiment/models/loras', status: 200 },
    { method: 'GET', path: '/experiment/models/preview/loras/0/ink.safetensors', status: 200 },
    // app/custom_node_manager.py
    { method: 'GET', path: '/workflow_templates', status: 200 },
    { method: 'GET', path: '/i18n', status: 200 },
    // api_server/routes/internal/internal_routes.py (ComfyUI mounts these at /internal only; /api/internal is extra)
    { method: 'GET', path: '/internal/logs', status: 200 },
    { method: 'GET', path: '/internal/logs/raw', status: 200 },
    { method: 'PATCH', path: '/internal/logs/subscribe', body: json({ clientId: tag, enabled: false }), status: 200 },
    { method: 'GET', path: '/internal/folder_paths', status: 200 },
    { method: 'GET', path: '/internal/files/input', status: 200 },
  ];
}

describe("ComfyUI 0.3.64's routes", () => {
  it.each(['', '/api'])('all answer at "%s" with the status ComfyUI gives a valid request', async (prefix) => {
    const answered: string[] = [];
    const expected: string[] = [];
    for (const call of comfyRoutes(prefix ? 'api' : 'root')) {
      const body = call.body?.();
      const headers: Record<string, string> = typeof body === 'string' ? { 'content-type': 'application/json' } : {};
      const res = await fetch(`${server.url}${prefix}${call.path}`, { method: call.method, body, headers });
      await res.arrayBuffer();
      answered.push(`${call.method} ${call.path} ${res.status}`);
      expected.push(`${call.method} ${call.path} ${call.status}`);
    }
    expect(answered).toEqual(expected);
  });
});
