/**
 * A server pointed at models beyond its data directory: `--models DIR` folders and a ComfyUI extra_model_paths.yaml
 * are listed by /models, /internal/folder_paths and the loaders' combos in /object_info, in ComfyUI's order, and
 * folders that do not exist are reported once in the log.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer, type TestServer } from './test-support/harness.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'uso-model-paths-')));
const put = (...p: string[]) => {
  mkdirSync(join(root, ...p.slice(0, -1)), { recursive: true });
  writeFileSync(join(root, ...p), 'x');
};
let server: TestServer;
const logs: string[] = [];

beforeAll(async () => {
  put('data', 'models', 'loras', 'local.safetensors');
  put('second', 'loras', 'second.safetensors');
  put('comfy', 'models', 'loras', 'comfy.safetensors');
  put('comfy', 'models', 'unet', 'flux1-dev.safetensors');
  put('comfy', 'models', 'upscale_models', '4x.pth');
  put('hf', 'FLUX.1-dev', 'model_index.json');
  writeFileSync(join(root, 'extra_model_paths.yaml'), [
    'comfyui:',
    '  base_path: comfy',
    '  loras: models/loras',
    '  unet: models/unet',
    '  upscale_models: models/upscale_models',
    '  vae: models/vae_missing',
    'snapshots:',
    '  checkpoints: hf',
  ].join('\n'));
  server = await startTestServer({
    dataDir: join(root, 'data'),
    packs: ['@uso-studio/nodes-comfy'],
    modelDirs: [join(root, 'second'), join(root, 'absent')],
    extraModelPathsFile: join(root, 'extra_model_paths.yaml'),
    log: (line) => logs.push(line),
  });
});
afterAll(async () => {
  await server?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('model folders beyond the data directory', () => {
  it('lists every folder of a model type in /models/{folder}, legacy names included', async () => {
    expect((await getJson(`${server.url}/models/loras`)).body).toEqual(['comfy.safetensors', 'local.safetensors', 'second.safetensors']);
    expect((await getJson(`${server.url}/models/diffusion_models`)).body).toEqual(['flux1-dev.safetensors']);
    expect((await getJson(`${server.url}/api/models/unet`)).body).toEqual(['flux1-dev.safetensors']);
    expect((await getJson(`${server.url}/models/upscale_models`)).body).toEqual(['4x.pth']);
    // A diffusers snapshot is one checkpoint entry.
    expect((await getJson(`${server.url}/models/checkpoints`)).body).toEqual(['FLUX.1-dev']);
  });

  it('shows the search order in /internal/folder_paths', async () => {
    const paths = (await getJson(`${server.url}/internal/folder_paths`)).body as Record<string, string[]>;
    expect(paths.loras).toEqual([join(root, 'data', 'models', 'loras'), join(root, 'second', 'loras'), join(root, 'absent', 'loras'), join(root, 'comfy', 'models', 'loras')]);
  });

  it('offers the same files in the loaders\' combos', async () => {
    const info = (await getJson(`${server.url}/object_info/LoraLoaderModelOnly`)).body as Record<string, { input: { required: Record<string, [string[]]> } }>;
    expect(info.LoraLoaderModelOnly!.input.required.lora_name![0]).toEqual(['comfy.safetensors', 'local.safetensors', 'second.safetensors']);
  });

  it('shows files dropped in while running in /models/{folder} and in the combos, in any of the folders', async () => {
    writeFileSync(join(root, 'second', 'loras', 'dropped-later.safetensors'), 'x');
    mkdirSync(join(root, 'comfy', 'models', 'loras', 'new'), { recursive: true });
    writeFileSync(join(root, 'comfy', 'models', 'loras', 'new', 'from-comfy.safetensors'), 'x');
    const expected = ['comfy.safetensors', 'dropped-later.safetensors', 'local.safetensors', 'new/from-comfy.safetensors', 'second.safetensors'];
    expect((await getJson(`${server.url}/models/loras`)).body).toEqual(expected);
    const info = (await getJson(`${server.url}/object_info/LoraLoaderModelOnly`)).body as Record<string, { input: { required: Record<string, [string[]]> } }>;
    expect(info.LoraLoaderModelOnly!.input.required.lora_name![0]).toEqual(expected);
  });

  it('reports folders that do not exist once, without failing', () => {
    expect(logs.filter((l) => l.includes(join(root, 'absent')))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('vae_missing'))).toHaveLength(1);
  });
});
