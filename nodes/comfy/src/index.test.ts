import { describe, it, expect } from 'vitest';
import { NodeRegistry } from '@uso-studio/core';
import { pack } from './index.ts';

describe('comfy pack', () => {
  it("registers ComfyUI's generic FLUX nodes under their ComfyUI names", () => {
    expect(pack.nodes.map((n) => n.name).sort()).toEqual(
      [
        'CheckpointLoaderSimple', 'UNETLoader', 'DualCLIPLoader', 'VAELoader', 'CLIPVisionLoader', 'LoraLoaderModelOnly',
        'CLIPTextEncode', 'ConditioningZeroOut', 'FluxGuidance', 'ReferenceLatent', 'FluxKontextMultiReferenceLatentMethod',
        'CLIPVisionEncode', 'EmptyLatentImage', 'EmptySD3LatentImage', 'VAEEncode', 'VAEDecode', 'KSampler', 'EasyCache',
      ].sort(),
    );
    // Every schema renders without a models folder (combos are just empty).
    const info = new NodeRegistry(pack.nodes).objectInfo({ inputDir: '/nonexistent', outputDir: '/nonexistent', tempDir: '/nonexistent', modelsDir: '/nonexistent' });
    expect(info.CheckpointLoaderSimple!.input.required.ckpt_name).toEqual([[], { tooltip: 'The name of the checkpoint (model) to load.' }]);
    expect(info.FluxGuidance!.python_module).toBe('comfy_extras.nodes_flux');
  });
});
