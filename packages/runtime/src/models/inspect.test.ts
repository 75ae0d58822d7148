import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSparseSafetensors } from '../safetensors/sparse.ts';
import { defaultArchitectures } from './architectures/index.ts';
import { clipVitLVisionLayout } from './architectures/siglip-published.ts';
import { SIGLIP_HEADS_METADATA_KEY } from './architectures/siglip-vision.ts';
import { TINY_SIGLIP, tinyCheckpoint, tinySiglipSpecs, writeTinyFiles } from './architectures/siglip-tiny.ts';
import { writeSafetensors } from '../safetensors/writer.ts';
import { tempDir } from './architectures/test-support.ts';
import { DEMO_FILES, generateDemoModels } from './demo/generate.ts';
import { inspectModelFile } from './inspect.ts';

const dir = tempDir('inspect');
const registry = defaultArchitectures();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inspectModelFile', () => {
  it('reports a SigLIP file: config, dtypes, used, ignored (head, text tower, logit scale/bias), none unknown, memory', () => {
    const files = writeTinyFiles(join(dir, 'tiny'));
    const report = inspectModelFile(files.siglip.F32, registry);
    expect(report.models).toHaveLength(1);
    const [model] = report.models;
    expect(model).toMatchObject({ role: 'vision_encoder', architecture: 'siglip-vision', keyPrefix: '', config: { width: 32, layers: 21, imageSize: 20 } });
    expect(model!.error).toBeUndefined();
    expect(model!.used).toHaveLength(5 + 16 * TINY_SIGLIP.layers);
    expect(model!.ignored).toHaveLength(15);
    expect(model!.ignored).toContain('logit_scale');
    expect(model!.unknown).toEqual([]);
    expect(model!.missing).toEqual([]);
    expect(model!.dtypes).toEqual({ F32: 5 + 16 * TINY_SIGLIP.layers });
    expect(model!.computeBytes.float32).toBe(model!.storedBytes);
    expect(model!.computeBytes.float16).toBe(model!.storedBytes / 2);
    expect(report.unclaimed).toEqual([]);

    const f8 = inspectModelFile(files.siglip.F8_E4M3, registry).models[0]!;
    expect(f8.dtypes).toEqual({ F8_E4M3: 5 + 16 * TINY_SIGLIP.layers });
    expect(f8.computeBytes.float32).toBe(4 * f8.storedBytes);
  });

  it('finds every model of a combined checkpoint with its prefix, the VAE halves sharing one', async () => {
    const models = join(dir, 'demo');
    await generateDemoModels(models);
    const report = inspectModelFile(join(models, DEMO_FILES.checkpoint), registry);
    const found = report.models.map((m) => [m.role, m.architecture, m.keyPrefix]);
    expect(found).toEqual([
      ['dit', 'uso-demo-dit', 'model.diffusion_model.'],
      ['vae_encoder', 'uso-demo-vae-encoder', 'vae.'],
      ['vae_decoder', 'uso-demo-vae-decoder', 'vae.'],
      ['t5', 'uso-demo-t5', 'text_encoders.t5xxl.transformer.'],
      ['clip', 'uso-demo-clip', 'text_encoders.clip_l.transformer.'],
    ]);
    for (const m of report.models) expect(m.unknown, m.architecture).toEqual([]);
    expect(report.unclaimed).toEqual([]);
  });

  it('lists the weights a damaged file lacks, as the loader would refuse it', () => {
    const { tensors } = tinyCheckpoint(tinySiglipSpecs(), 'F16');
    delete tensors['vision_model.encoder.layers.3.mlp.fc2.bias'];
    const file = join(dir, 'damaged.safetensors');
    writeSafetensors(file, tensors, { [SIGLIP_HEADS_METADATA_KEY]: '4' });
    const model = inspectModelFile(file, registry).models[0]!;
    expect(model.architecture).toBe('siglip-vision');
    expect(model.missing).toEqual(['vision_model.encoder.layers.3.mlp.fc2.bias']);
    expect(model.error).toBe('1 required weight(s) missing');
  });

  it('reads a Hugging Face shard folder (index JSON) as one model', () => {
    const { tensors } = tinyCheckpoint(tinySiglipSpecs(), 'F16');
    const folder = join(dir, 'sharded');
    mkdirSync(folder);
    const names = Object.keys(tensors);
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const shard = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(folder, shard), Object.fromEntries(part.map((n) => [n, tensors[n]!])), { [SIGLIP_HEADS_METADATA_KEY]: '4' });
      for (const n of part) weightMap[n] = shard;
    });
    writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const report = inspectModelFile(folder, registry);
    expect(report.tensorCount).toBe(names.length);
    expect(report.models.map((m) => [m.architecture, m.used.length, m.unknown.length])).toEqual([['siglip-vision', names.length, 0]]);
  });

  it('says what a lookalike file is', () => {
    const file = join(dir, 'clip-vision.safetensors');
    writeSparseSafetensors(file, clipVitLVisionLayout());
    const report = inspectModelFile(file, registry);
    expect(report.models).toEqual([]);
    expect(report.notes.join('\n')).toMatch(/vision_encoder: it looks like a CLIP ViT-L\/14 vision tower/);
    expect(report.unclaimed).toHaveLength(report.tensorCount);
  });
});
