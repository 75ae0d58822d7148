/**
 * The two npm ComfyUI clients issue 11 names, unchanged, against a real server on loopback: every call they offer,
 * with the results a ComfyUI 0.3.64 server would give. Where a client's call fails against ComfyUI itself, the test
 * says so and checks that it fails the same way here.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Workflow } from '@stable-canvas/comfyui-client';
import { ComfyUIClient } from 'comfy-ui-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { writeSafetensors } from '../../packages/runtime/src/index.ts';
import { DEFAULT_PACKS } from '../../packages/server/src/packs.ts';
import { TEST_PACK, startTestServer } from '../../packages/server/src/test-support/harness.ts';
import { ONE_PIXEL_PNG } from '../../packages/server/src/test-support/test-pack.ts';
import type { TestServer } from '../../packages/server/src/test-support/harness.ts';

let server: TestServer;
let host: string;

/** What POST /prompt answers on success (the client's QueuePrompt type is a union with the error shape). */
interface QueuedPrompt {
  prompt_id: string;
  number: number;
}

const savePrompt = (prefix: string) => ({
  '1': { class_type: 'SrvAdd', inputs: { b: 2 } },
  '2': { class_type: 'SrvSaveImage', inputs: { filename_prefix: prefix, value: ['1', 0] } },
});

beforeAll(async () => {
  server = await startTestServer({ packs: DEFAULT_PACKS, extraPacks: [TEST_PACK] });
  host = new URL(server.url).host;
  const weights = { w: { dtype: 'F32' as const, shape: [1], data: new Float32Array([1]) } };
  for (const folder of ['checkpoints', 'loras', 'vae']) mkdirSync(join(server.dirs.modelsDir, folder), { recursive: true });
  writeSafetensors(join(server.dirs.modelsDir, 'checkpoints', 'ckpt.safetensors'), weights);
  writeSafetensors(join(server.dirs.modelsDir, 'loras', 'style.safetensors'), weights, { ss_network_dim: '4' });
  writeSafetensors(join(server.dirs.modelsDir, 'vae', 'ae.safetensors'), weights);
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

describe('@stable-canvas/comfyui-client 1.5.9', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ api_host: host, clientId: 'stable-canvas', WebSocket, fetch });
    client.connect();
    await new Promise<void>((resolve) => client.once('status', () => resolve()));
  });
  afterAll(() => client?.close());

  it('enqueues a prompt over the WebSocket and gets its image back', async () => {
    const result = await client.enqueue(savePrompt('sc'), { workflow: {} as never });
    expect(result.images).toHaveLength(1);
    const image = result.images[0]!;
    // The URL resolver points at /view; fetching it gives the PNG.
    const url = image.type === 'url' ? image.data : '';
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('enqueues by polling too, and reads queue, history and prompt status', async () => {
    const result = await client.enqueue_polling(savePrompt('scpoll'));
    expect(result.images).toHaveLength(1);
    expect(await client.getPromptStatus(result.prompt_id)).toMatchObject({ done: true });
    const { History } = await client.getHistory();
    expect(History.map((entry: { prompt: unknown[] }) => entry.prompt[1])).toContain(result.prompt_id);
    expect(await client.getQueue()).toEqual({ Running: [], Pending: [] });
  });

  it('lists node definitions, samplers, schedulers and model files from object_info', async () => {
    const defs = await client.getNodeDefs();
    expect(defs.KSampler).toBeDefined();
    expect(await client.getSamplers()).toContain('euler');
    expect(await client.getSchedulers()).toContain('simple');
    expect(await client.getSDModels()).toEqual(['ckpt.safetensors']);
    expect(await client.getVAEs()).toContain('ae.safetensors');
    // getLoRAs reads LoraLoader's lora_name list: the loras folder.
    expect(await client.getLoRAs()).toEqual(['style.safetensors']);
    // No ControlNet, upscaler or hypernetwork loaders exist here: the client answers [] as it does for ComfyUI without them.
    expect(await client.getCNetModels()).toEqual([]);
    expect(await client.getUpscaleModels()).toEqual([]);
    expect(await client.getHyperNetworks()).toEqual([]);
    expect(await client.getEmbeddings()).toEqual([]);
    expect(await client.getExtensions()).toEqual([]);
  });

  it('model folders, model files and safetensors metadata', async () => {
    const folders = await client.getModelFolders();
    expect(folders.map((f) => f.name)).toContain('loras');
    const loras = await client.getModels('loras');
    expect(loras).toMatchObject([{ name: 'style.safetensors', pathIndex: 0 }]);
    expect(await client.viewMetadata('loras', 'style.safetensors')).toEqual({ ss_network_dim: '4' });
  });

  it('settings, user config and user data', async () => {
    await client.storeSettings({ 'Comfy.A': 1 });
    await client.storeSetting('Comfy.B', 'two');
    expect(await client.getSettings()).toMatchObject({ 'Comfy.A': 1, 'Comfy.B': 'two' });
    expect(await client.getSetting('Comfy.B')).toBe('two');
    expect(await client.getUserConfig()).toEqual({ storage: 'server', migrated: true });
    await fetch(`${server.url}/userdata/workflows%2Fa.json`, { method: 'POST', body: '{"a":1}' });
    const res = await client.getUserData('workflows/a.json');
    expect(await res.json()).toEqual({ a: 1 });
    const created = await client.createUser('someone');
    expect(created.status).toBe(200);
  });

  it('builds a Workflow with its node classes and invokes it over the WebSocket, by polling and as an instance', async () => {
    const workflow = new Workflow();
    const [sum] = workflow.node('SrvAdd', { b: 5 });
    workflow.node('SrvSaveImage', { filename_prefix: 'wf', value: sum });
    expect((await workflow.invoke(client)).images).toHaveLength(1);
    expect((await workflow.invoke_polling(client)).images).toHaveLength(1);
    const instance = workflow.instance(client);
    await instance.enqueue();
    expect((await instance.wait()).images).toHaveLength(1);
  });

  it('queuePrompt at the back and at the front, then waits, reads outputs and results, and runs by polling', async () => {
    // waitForPromptWebSocket listens only from its call on, after POST /prompt answered: the prompt must outlast that.
    const slowSave = { ...savePrompt('qb'), '1': { class_type: 'SrvSleep', inputs: { ms: 300, steps: 3, mode: 'async' } } };
    const back = (await client.queuePrompt(0, { prompt: slowSave, workflow: {} })) as QueuedPrompt;
    const outputs = await client.waitForPromptWebSocket(back.prompt_id, (output, executed) => ({ ...output, data: executed }));
    expect(outputs.prompt_id).toBe(back.prompt_id);
    // queue_index -1 sends `front: true`: ComfyUI numbers such prompts below every other (-number), as here.
    const front = (await client.queuePrompt(-1, { prompt: savePrompt('qf'), workflow: {} })) as QueuedPrompt;
    expect(front.number).toBeLessThan(0);
    await client.waitForPrompt(front.prompt_id, 50);
    const saved = await client.getPromptOutputs(front.prompt_id);
    expect(Object.values(saved)[0]).toMatchObject({ images: [{ filename: expect.stringMatching(/^qf_/), type: 'output' }] });
    expect((await client.getPromptResult(front.prompt_id)).images).toHaveLength(1);
    expect((await client.runPrompt(savePrompt('run'), { polling_ms: 50 })).images).toHaveLength(1);
    expect(await client.getItems('queue')).toEqual({ Running: [], Pending: [] });
    const { History } = await client.getItems('history');
    expect(History.map((entry: { prompt: unknown[] }) => entry.prompt[1])).toContain(front.prompt_id);
    const url = client.viewURL(saved[Object.keys(saved)[0]!].images[0].filename, '', 'output');
    expect((await fetch(url)).status).toBe(200);
  });

  it('stores user data as JSON or as written', async () => {
    // The client stringifies only when asked (`stringify: true`); an object sent without it reaches ComfyUI as
    // "[object Object]" just the same.
    await client.storeUserData('workflows/stored.json', { nodes: [1] }, { stringify: true });
    expect(await (await client.getUserData('workflows/stored.json')).json()).toEqual({ nodes: [1] });
    await client.storeUserData('notes.txt', 'plain text');
    expect(await (await client.getUserData('notes.txt')).text()).toBe('plain text');
  });

  it('logs, system stats, interrupt, free, delete and clear', async () => {
    // Client bug: internalURL() is already absolute and fetchApi() prefixes the host again, so getLogs/getRawLogs
    // request 'http://host/http:/host/internal/logs' and get a 404 from ComfyUI too. The routes themselves answer.
    await expect(client.getLogs()).rejects.toThrow(/404/);
    await expect(client.getRawLogs()).rejects.toThrow(/404/);
    const raw = (await fetch(client.internalURL('/logs/raw')).then((r) => r.json())) as { size: unknown };
    expect(raw.size).toEqual({ cols: 80, rows: 24 });
    const stats = await client.getSystemStats();
    expect(stats.system.os).toBe('posix');
    await client.interrupt();
    await client.free({ unload_models: true });
    const { prompt_id } = await client._enqueue_prompt(savePrompt('del'));
    await client.waitForPrompt(prompt_id);
    await client.deleteItem('history', prompt_id);
    expect(Object.keys((await fetch(`${server.url}/history/${prompt_id}`).then((r) => r.json())) as object)).toEqual([]);
    await client.clearItems('queue');
    await client.clearItems('history');
    expect(await fetch(`${server.url}/history`).then((r) => r.json())).toEqual({});
  });
});

describe('comfy-ui-client 0.1.2', () => {
  let client: ComfyUIClient;
  beforeAll(async () => {
    client = new ComfyUIClient(host, 'comfy-ui-client');
    await client.connect();
  });
  afterAll(async () => {
    await client?.disconnect();
  });

  it('getImages queues a prompt, waits for the end event and fetches the images', async () => {
    // The client starts listening only after POST /prompt answers, so the prompt must outlast that round trip (as any
    // real sampling run does); a 300 ms sleep stands in for the model.
    const images = await client.getImages({
      '1': { class_type: 'SrvSleep', inputs: { ms: 300, steps: 3, mode: 'async' } },
      '2': { class_type: 'SrvSaveImage', inputs: { filename_prefix: 'cuc', value: ['1', 0] } },
    });
    expect(Object.keys(images)).toEqual(['2']);
    const blob = images['2']![0]!.blob;
    expect(Buffer.from(await blob.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('reads prompt, queue, history, object_info, system stats, embeddings and extensions', async () => {
    expect(await client.getPrompt()).toEqual({ exec_info: { queue_remaining: 0 } });
    expect(await client.getQueue()).toEqual({ queue_running: [], queue_pending: [] });
    expect(Object.keys(await client.getHistory()).length).toBeGreaterThan(0);
    expect(Object.keys(await client.getObjectInfo('KSampler'))).toEqual(['KSampler']);
    expect((await client.getSystemStats()).devices.length).toBeGreaterThan(0);
    expect(await client.getEmbeddings()).toEqual([]);
    expect(await client.getExtensions()).toEqual([]);
  });

  it('uploads an image and a mask for it, and reads model metadata', async () => {
    const png = Buffer.from(ONE_PIXEL_PNG);
    expect(await client.uploadImage(png, 'green.png')).toEqual({ name: 'green.png', subfolder: '', type: 'input' });
    const mask = Buffer.from(ONE_PIXEL_PNG);
    // This client sends the reference as `originalRef`; ComfyUI reads only `original_ref` (and fails with a 500).
    const stored = await client.uploadMask(mask, 'green-mask.png', { filename: 'green.png', type: 'input' });
    expect(stored).toEqual({ name: 'green-mask.png', subfolder: '', type: 'input' });
    // The stored file is the original made RGBA: IHDR colour type 6.
    const storedPng = readFileSync(join(server.dirs.inputDir, 'green-mask.png'));
    expect(storedPng.readUInt8(25)).toBe(6);
    expect(await client.viewMetadata('loras' as never, 'style.safetensors')).toEqual({ ss_network_dim: '4' });
    expect(await client.getImage('green.png', '', 'input')).toBeInstanceOf(Blob);
  });

  it('queuePrompt answers the prompt id, and saveImages writes fetched images to a folder', async () => {
    const queued = await client.queuePrompt(savePrompt('cucq'));
    expect(queued).toMatchObject({ prompt_id: expect.any(String), node_errors: {} });
    const images = await client.getImages({
      '1': { class_type: 'SrvSleep', inputs: { ms: 300, steps: 3, mode: 'async' } },
      '2': { class_type: 'SrvSaveImage', inputs: { filename_prefix: 'cucsave', value: ['1', 0] } },
    });
    const folder = mkdtempSync(join(tmpdir(), 'comfy-ui-client-'));
    try {
      await client.saveImages(images, folder);
      const written = readdirSync(folder);
      expect(written).toEqual([expect.stringMatching(/^cucsave_.*\.png$/)]);
      expect(readFileSync(join(folder, written[0]!)).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('interrupt and editHistory reject as they do against ComfyUI, whose 200 has an empty body they parse as JSON', async () => {
    await expect(client.interrupt()).rejects.toThrow(SyntaxError);
    await expect(client.editHistory({ clear: true })).rejects.toThrow(SyntaxError);
    // The requests themselves took effect.
    expect(await fetch(`${server.url}/history`).then((r) => r.json())).toEqual({});
  });
});
