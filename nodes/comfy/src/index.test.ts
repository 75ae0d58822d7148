import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeRegistry } from '@uso-studio/core';
import { generateDemoModels } from '@uso-studio/runtime';
import { getModelService, pack } from './index.ts';

describe('comfy pack', () => {
  it("registers ComfyUI's generic FLUX nodes under their ComfyUI names", () => {
    expect(pack.nodes.map((n) => n.name).sort()).toEqual(
      [
        'CheckpointLoaderSimple', 'UNETLoader', 'DualCLIPLoader', 'VAELoader', 'CLIPVisionLoader', 'LoraLoaderModelOnly', 'LoraLoader', 'CLIPLoader',
        'CLIPTextEncode', 'ConditioningZeroOut', 'FluxGuidance', 'ReferenceLatent', 'FluxKontextMultiReferenceLatentMethod',
        'CLIPVisionEncode', 'EmptyLatentImage', 'EmptySD3LatentImage', 'LatentUpscale', 'LatentUpscaleBy', 'VAEEncode', 'VAEDecode', 'VAEEncodeTiled', 'VAEDecodeTiled',
        'KSampler', 'EasyCache', 'KSamplerAdvanced', 'SamplerCustomAdvanced', 'RandomNoise', 'DisableNoise', 'KSamplerSelect',
        'BasicScheduler', 'BasicGuider', 'CFGGuider', 'ModelSamplingFlux', 'ConditioningCombine', 'ConditioningSetTimestepRange',
        'CLIPTextEncodeFlux',
      ].sort(),
    );
    // Every schema renders without a models folder (combos are just empty).
    const info = new NodeRegistry(pack.nodes).objectInfo({ inputDir: '/nonexistent', outputDir: '/nonexistent', tempDir: '/nonexistent', modelsDir: '/nonexistent' });
    expect(info.CheckpointLoaderSimple!.input.required.ckpt_name).toEqual([[], { tooltip: 'The name of the checkpoint (model) to load.' }]);
    expect(info.FluxGuidance!.python_module).toBe('comfy_extras.nodes_flux');
  });
});

describe('comfy pack services', () => {
  it("create the model service with the host's execution provider, falling back to the CPU, and unload sessions", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'comfy-pack-'));
    const modelsDir = path.join(root, 'models');
    await generateDemoModels(modelsDir);
    const dir = (n: string) => path.join(root, n);
    const env = { inputDir: dir('input'), outputDir: dir('output'), tempDir: dir('temp'), modelsDir, cacheDir: dir('cache'), executionProvider: 'webgpu' as const, memoryBudgetBytes: 12_345 };
    const created = await pack.createServices!(env);
    const service = getModelService({ services: created.services });
    try {
      // This machine has no GPU: webgpu is asked for, the session runs on the CPU, and the fallback is reported.
      const file = service.resolveFile('vae', 'uso-demo-ae.safetensors');
      const session = await service.session({ file, role: 'vae_encoder' });
      expect(session.requestedProvider).toBe('webgpu');
      expect(session.provider).toBe('cpu');
      expect(service.providersInUse()).toEqual([expect.objectContaining({ requested: 'webgpu', actual: 'cpu', fallbackReason: expect.any(String) })]);
      // Idle sessions are kept within a RAM budget (60% of the machine's memory).
      expect(service.pool.stats().budgetBytes).toBe(Math.floor(os.totalmem() * 0.6));
      // Work that can be split (VAE batches, tiles) stays under the host's memory budget.
      expect(service.activationBudget()).toBe(12_345);
      // Graphs are cached under the host's cache folder.
      expect(fs.readdirSync(path.join(root, 'cache', 'graphs')).some((f) => f.endsWith('.onnx'))).toBe(true);
      await created.unloadModels!();
      expect(service.pool.stats().sessions).toBe(0);
    } finally {
      await created.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
