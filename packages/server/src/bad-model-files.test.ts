/**
 * Bad model files on a real server on loopback (real worker, real onnxruntime, the tiny real-architecture set): an
 * interrupted download (a truncated checkpoint, a snapshot with a missing shard), a wrong file (a VAE picked as a
 * diffusion model) and a file that is not safetensors at all each fail their prompt with a node error that names the
 * file and what was expected; a name that is not in the folder is refused at validation. The worker stays up: a good
 * prompt afterwards runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_FILES, generateTinyModels } from '@uso-studio/runtime';
import { DEFAULT_PACKS } from './packs.ts';
import { TestClient, getJson, postJson, startTestServer, tempDataDir, type TestServer } from './test-support/harness.ts';

let server: TestServer;
let ws: TestClient;
const base = (rel: string) => path.basename(rel);

beforeAll(async () => {
  const dataDir = tempDataDir();
  const models = path.join(dataDir, 'models');
  generateTinyModels(models, path.join(dataDir, 'input'));
  const checkpoint = fs.readFileSync(path.join(models, TINY_FILES.checkpoint));
  fs.writeFileSync(path.join(models, 'checkpoints', 'tiny-interrupted.safetensors'), checkpoint.subarray(0, Math.floor(checkpoint.length * 0.6)));
  fs.copyFileSync(path.join(models, TINY_FILES.vae), path.join(models, 'diffusion_models', 'tiny-vae-as-dit.safetensors'));
  fs.writeFileSync(path.join(models, 'diffusion_models', 'tiny-not-safetensors.safetensors'), '<html>404 Not Found</html>');
  // A sharded DiT folder whose second shard never arrived.
  const sharded = path.join(models, 'diffusion_models', 'tiny-sharded');
  fs.mkdirSync(sharded);
  fs.writeFileSync(path.join(sharded, 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({
    weight_map: { 'img_in.weight': 'diffusion_pytorch_model-00001-of-00002.safetensors', 'txt_in.weight': 'diffusion_pytorch_model-00002-of-00002.safetensors' },
  }));
  fs.copyFileSync(path.join(models, TINY_FILES.dit), path.join(sharded, 'diffusion_pytorch_model-00001-of-00002.safetensors'));
  server = await startTestServer({ dataDir, packs: [...DEFAULT_PACKS] });
  ws = await TestClient.connect(server, 'bad-files');
}, 120_000);
afterAll(async () => {
  ws?.close();
  await server?.dispose();
});

/** Text-only FLUX graph at 64x64, 1 step; `unet` replaces the checkpoint's MODEL with UNETLoader's. */
function prompt(ckpt: string, unet?: string): Record<string, unknown> {
  const p: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    ckpt: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    text: { class_type: 'CLIPTextEncode', inputs: { text: 'a fox', clip: ['ckpt', 1] } },
    empty: { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    sampler: {
      class_type: 'KSampler',
      inputs: { model: [unet ? 'unet' : 'ckpt', 0], seed: 1, steps: 1, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['text', 0], negative: ['text', 0], latent_image: ['empty', 0], denoise: 1 },
    },
    decode: { class_type: 'VAEDecode', inputs: { samples: ['sampler', 0], vae: ['ckpt', 2] } },
    save: { class_type: 'SaveImage', inputs: { images: ['decode', 0], filename_prefix: 'bad-files' } },
  };
  if (unet) p.unet = { class_type: 'UNETLoader', inputs: { unet_name: unet, weight_dtype: 'default' } };
  return p;
}

/** Runs a prompt to its end; returns its history status. */
async function run(p: Record<string, unknown>): Promise<{ status_str: string; messages: unknown[] }> {
  const queued = await postJson(`${server.url}/prompt`, { prompt: p, client_id: 'bad-files' });
  expect(queued.status).toBe(200);
  const id = queued.body.prompt_id as string;
  await ws.waitForEnd(id, 60_000);
  return (await getJson(`${server.url}/history/${id}`)).body[id].status;
}

function executionError(status: { messages: unknown[] }): { node_type: string; exception_message: string } {
  const found = status.messages.find((m) => Array.isArray(m) && m[0] === 'execution_error') as [string, { node_type: string; exception_message: string }];
  expect(found).toBeDefined();
  return found[1];
}

describe('bad model files on a running server', () => {
  it.each([
    ['a truncated checkpoint (interrupted download)', prompt('tiny-interrupted.safetensors'), 'CheckpointLoaderSimple', /tiny-interrupted\.safetensors.*truncated/s],
    ['a VAE picked as a diffusion model', prompt(base(TINY_FILES.checkpoint), 'tiny-vae-as-dit.safetensors'), 'UNETLoader', /tiny-vae-as-dit\.safetensors: no known dit architecture matches.*looks like a VAE/s],
    ['a file that is not safetensors', prompt(base(TINY_FILES.checkpoint), 'tiny-not-safetensors.safetensors'), 'UNETLoader', /tiny-not-safetensors\.safetensors: not a safetensors file/],
    ['a shard folder with a shard missing', prompt(base(TINY_FILES.checkpoint), 'tiny-sharded'), 'UNETLoader', /diffusion_pytorch_model-00002-of-00002\.safetensors.*shard missing/s],
  ])('%s: a node error naming the file', async (_what, p, nodeType, message) => {
    const status = await run(p);
    expect(status.status_str).toBe('error');
    const error = executionError(status);
    expect(error.node_type).toBe(nodeType);
    expect(error.exception_message).toMatch(message);
  }, 90_000);

  it('a name that is not in the folder is refused at validation, naming it', async () => {
    const refused = await postJson(`${server.url}/prompt`, { prompt: prompt('not-downloaded.safetensors'), client_id: 'bad-files' });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.node_errors)).toMatch(/not-downloaded\.safetensors/);
  });

  it('the worker is still up: a good prompt runs afterwards', async () => {
    const status = await run(prompt(base(TINY_FILES.checkpoint)));
    expect(status.status_str).toBe('success');
    expect((await getJson(`${server.url}/system_stats`)).status).toBe(200);
  }, 90_000);
});
