import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Tensor, writeSafetensors } from '@uso-studio/runtime';
import { makeTestHost, testProjection, testRegistry } from '../test-support.ts';
import { createModelService, getModelService, MODEL_SERVICE_KEY, ModelMemoryError } from './model-service.ts';
import { ModelFileError } from './model-files.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());

/** Runs the test DiT on one token with all other inputs empty/zero: v = img @ P^T (+0.5 t with t = 0). */
async function project(loras: Parameters<typeof host.service.run>[0]['loras'], img: Float32Array): Promise<Float32Array> {
  const file = host.service.resolveFile('diffusion_models', 'test-dit.safetensors');
  const z = (shape: number[]) => Tensor.zeros(shape);
  const out = await host.service.run(
    { file, role: 'dit', loras },
    {
      img: Tensor.float32([1, 1, 64], img),
      img_ids: z([1, 1, 3]),
      ref_img: z([1, 0, 64]),
      ref_img_ids: z([1, 0, 3]),
      txt: z([1, 1, 8]),
      txt_ids: z([1, 1, 3]),
      style: z([1, 0, 8]),
      timesteps: z([1]),
      guidance: z([1]),
      y: z([1, 6]),
    },
  );
  return out.velocity!.data as Float32Array;
}

describe('model files', () => {
  it('lists folders recursively with aliases and resolves names inside them only', () => {
    const unet = path.join(host.env.modelsDir, 'unet', 'sub');
    fs.mkdirSync(unet, { recursive: true });
    fs.writeFileSync(path.join(unet, 'extra.safetensors'), 'x');
    fs.writeFileSync(path.join(unet, 'notes.txt'), 'x');
    expect(host.service.listFiles('diffusion_models')).toEqual(['sub/extra.safetensors', 'test-dit.safetensors']);
    expect(host.service.listFiles('text_encoders')).toEqual(['test-clip_l.safetensors', 'test-t5xxl.safetensors']);
    expect(host.service.resolveFile('diffusion_models', 'sub/extra.safetensors')).toBe(path.join(unet, 'extra.safetensors'));
    for (const bad of ['../checkpoints/test-checkpoint.safetensors', '/etc/passwd.safetensors', 'sub\\..\\..\\vae\\test-ae.safetensors']) {
      expect(() => host.service.resolveFile('diffusion_models', bad)).toThrow(ModelFileError);
    }
    expect(() => host.service.resolveFile('loras', 'absent.safetensors')).toThrow(/loras\/absent\.safetensors: file not found/);
    expect(() => host.service.resolveFile('vae', 'notes.txt')).toThrow(/expected a \.safetensors or \.sft file/);
  });
});

describe('ModelService', () => {
  it('runs a graph and caches it by request', async () => {
    const img = Float32Array.from({ length: 64 }, (_, i) => (i % 7) - 3);
    const v = await project([], img);
    const p = testProjection();
    for (const f of [0, 17, 63]) {
      let expected = 0;
      for (let g = 0; g < 64; g++) expected += img[g]! * p[f * 64 + g]!;
      expect(v[f]).toBeCloseTo(expected, 5);
    }
    const file = host.service.resolveFile('diffusion_models', 'test-dit.safetensors');
    expect(await host.service.graph({ file, role: 'dit' })).toBe(await host.service.graph({ file, role: 'dit' }));
  });

  it('merges a USO-format LoRA in the graph: W + strength * (alpha / rank) * (up @ down)', async () => {
    const rank = 2;
    const up = Float32Array.from({ length: 64 * rank }, (_, i) => Math.sin(i));
    const down = Float32Array.from({ length: rank * 64 }, (_, i) => Math.cos(i * 0.5));
    const loraFile = path.join(host.env.modelsDir, 'loras', 'uso-test.safetensors');
    writeSafetensors(loraFile, {
      'double_blocks.0.processor.proj_lora1.up.weight': { dtype: 'F32', shape: [64, rank], data: up },
      'double_blocks.0.processor.proj_lora1.down.weight': { dtype: 'F32', shape: [rank, 64], data: down },
      'double_blocks.0.processor.proj_lora2.up.weight': { dtype: 'F32', shape: [64, rank], data: up },
      'double_blocks.0.processor.proj_lora2.down.weight': { dtype: 'F32', shape: [rank, 64], data: down },
    });
    const kohyaFile = path.join(host.env.modelsDir, 'loras', 'kohya-test.safetensors');
    writeSafetensors(kohyaFile, {
      'lora_unet_double_blocks_0_img_attn_proj.lora_up.weight': { dtype: 'F32', shape: [64, rank], data: up },
      'lora_unet_double_blocks_0_img_attn_proj.lora_down.weight': { dtype: 'F32', shape: [rank, 64], data: down },
      'lora_unet_double_blocks_0_img_attn_proj.alpha': { dtype: 'F32', shape: [], data: new Float32Array([1]) },
    });
    const strength = 0.7;
    const img = Float32Array.from({ length: 64 }, (_, i) => (i % 5) * 0.25 - 0.5);
    const merged = (scale: number) => {
      const w = testProjection();
      for (let o = 0; o < 64; o++) {
        for (let i = 0; i < 64; i++) {
          let d = 0;
          for (let r = 0; r < rank; r++) d += up[o * rank + r]! * down[r * 64 + i]!;
          w[o * 64 + i]! += scale * d;
        }
      }
      return w;
    };
    const check = (v: Float32Array, w: Float32Array) => {
      for (let f = 0; f < 64; f++) {
        let expected = 0;
        for (let g = 0; g < 64; g++) expected += img[g]! * w[f * 64 + g]!;
        expect(v[f]).toBeCloseTo(expected, 4);
      }
    };
    // USO format: no alpha -> factor 1; proj_lora2 targets txt_attn.proj, absent in the test DiT -> not loaded.
    const uso = [{ file: loraFile, name: 'uso-test.safetensors', strength }];
    check(await project(uso, img), merged(strength));
    const graph = await host.service.graph({ file: host.service.resolveFile('diffusion_models', 'test-dit.safetensors'), role: 'dit', loras: uso });
    expect(graph.lora?.files[0]).toMatchObject({ patched: 1, unmatched: ['double_blocks.0.processor.proj_lora2'] });
    // kohya format with alpha 1 at rank 2 -> factor 1/2.
    check(await project([{ file: kohyaFile, name: 'k', strength }], img), merged(strength * 0.5));
    // Two LoRAs stack.
    check(await project([...uso, { file: kohyaFile, name: 'k', strength }], img), merged(strength * 1.5));
    // The unpatched graph is untouched.
    check(await project([], img), testProjection());
    // A new strength is a new input value, not a new graph or session.
    const other = [{ file: loraFile, name: 'uso-test.safetensors', strength: -1.3 }];
    check(await project(other, img), merged(-1.3));
    const again = await host.service.graph({ file: host.service.resolveFile('diffusion_models', 'test-dit.safetensors'), role: 'dit', loras: other });
    expect(again.path).toBe(graph.path);
    expect(host.service.providersInUse().filter((p) => p.model === graph.path)).toHaveLength(1);
  });

  it('runs graphs above isolateRunsAboveBytes in a process of their own, with the same outputs', async () => {
    const isolating = createModelService({ modelsDir: host.env.modelsDir, cacheDir: path.join(host.root, 'cache-isolated'), registry: testRegistry(), log: () => {}, isolateRunsAboveBytes: 0 });
    try {
      const file = isolating.resolveFile('diffusion_models', 'test-dit.safetensors');
      const img = Float32Array.from({ length: 64 }, (_, i) => (i % 5) - 2);
      const z = (shape: number[]) => Tensor.zeros(shape);
      const feeds = { img: Tensor.float32([1, 1, 64], img), img_ids: z([1, 1, 3]), ref_img: z([1, 0, 64]), ref_img_ids: z([1, 0, 3]), txt: z([1, 1, 8]), txt_ids: z([1, 1, 3]), style: z([1, 0, 8]), timesteps: z([1]), guidance: z([1]), y: z([1, 6]) };
      const out = await isolating.run({ file, role: 'dit' }, feeds);
      expect((await isolating.session({ file, role: 'dit' })).options.isolate).toBe(true);
      expect([...out.velocity!.data]).toEqual([...(await project([], img))]);
      expect((await host.service.session({ file, role: 'dit' })).options.isolate).toBe(false); // the default keeps a tiny graph here
    } finally {
      await isolating.close();
    }
  });

  it("caps the activation budget at the host's memory budget", async () => {
    const capped = createModelService({ modelsDir: host.env.modelsDir, cacheDir: path.join(host.root, 'cache-cap'), log: () => {}, workingMemoryCapBytes: 1000 });
    expect(capped.activationBudget()).toBe(1000); // free memory is far more than 1000 bytes
    const fixed = createModelService({ modelsDir: host.env.modelsDir, cacheDir: path.join(host.root, 'cache-cap2'), log: () => {}, activationBudgetBytes: 5000, workingMemoryCapBytes: 8000 });
    expect(fixed.activationBudget()).toBe(5000);
    await Promise.all([capped.close(), fixed.close()]);
  });

  it('is found in env.services, with a clear error when the host forgot it', () => {
    expect(getModelService(host.env)).toBe(host.service);
    expect(() => getModelService({ services: {} })).toThrow(/createModelService\(\{ modelsDir, cacheDir \}\).*env\.services\.models/);
    expect(MODEL_SERVICE_KEY).toBe('models');
  });

  it('refuses, before loading, a model that would not fit in the memory it may use, saying what would fit', async () => {
    const file = host.service.resolveFile('diffusion_models', 'test-dit.safetensors');
    const graph = await host.service.graph({ file, role: 'dit' });
    // The test DiT stores 64x64 float32 weights (16 KiB): allow 8 KiB, which a float8 file (4 KiB) would fit in.
    const tight = createModelService({ modelsDir: host.env.modelsDir, cacheDir: path.join(host.root, 'cache-tight'), registry: testRegistry(), log: () => {}, memoryLimitBytes: 8 * 1024 });
    const attempt = tight.session({ file, role: 'dit' });
    await expect(attempt).rejects.toBeInstanceOf(ModelMemoryError);
    await expect(tight.session({ file, role: 'dit' })).rejects.toThrow(
      /test-dit\.safetensors: this test-dit model needs about 0\.0 GB to run .* only about 0\.0 GB is free\. A F8_E4M3 \(float8\) file of the same model/,
    );
    expect(tight.providersInUse()).toEqual([]);
    const roomy = createModelService({ modelsDir: host.env.modelsDir, cacheDir: path.join(host.root, 'cache-roomy'), registry: testRegistry(), log: () => {}, memoryLimitBytes: graph.weightBytes + 1 });
    await expect(roomy.session({ file, role: 'dit' })).resolves.toBeDefined();
    await Promise.all([tight.close(), roomy.close()]);
  });

  it('refuses work after close()', async () => {
    const other = createModelService({ modelsDir: host.env.modelsDir, cacheDir: path.join(host.root, 'cache2'), registry: testRegistry(), log: () => {} });
    await other.close();
    expect(() => other.graph({ file: 'x', role: 'dit' })).toThrow(/closed/);
  });

  it('names the file when it is not a model of the role', async () => {
    const file = host.service.resolveFile('vae', 'test-ae.safetensors');
    await expect(host.service.graph({ file, role: 'dit' })).rejects.toThrow(/test-ae\.safetensors: no known dit architecture/);
    const truncated = path.join(host.env.modelsDir, 'vae', 'broken.safetensors');
    fs.writeFileSync(truncated, Buffer.from([1, 2, 3]));
    await expect(host.service.graph({ file: truncated, role: 'vae_decoder' })).rejects.toThrow(/broken\.safetensors/);
  });
});

describe('compute dtype by provider', () => {
  it('builds float32 graphs for the CPU and float16-product graphs for an accelerator', async () => {
    const cpu = createModelService({ modelsDir: '/nonexistent', cacheDir: '/nonexistent' });
    const gpu = createModelService({ modelsDir: '/nonexistent', cacheDir: '/nonexistent', provider: 'webgpu' });
    expect(cpu.computeDtype).toBe('float32');
    expect(gpu.computeDtype).toBe('float16');
    await cpu.close();
    await gpu.close();
  });
});
