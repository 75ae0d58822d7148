import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { loadModelGraph } from '../loader.ts';
import type { Role } from '../contract.ts';
import { defaultArchitectures } from '../architectures/index.ts';
import { CHECKPOINT_PREFIXES, DEMO_FILES, generateDemoModels } from './generate.ts';
import { DEMO_CLIP_TOKENIZER, DEMO_T5_TOKENIZER, demoTokenizerJson } from './tokenizer.ts';

const root = mkdtempSync(join(tmpdir(), 'demo-generate-'));
const models = join(root, 'models');
const input = join(root, 'input');
const first = await generateDemoModels(models, input);

const MODEL_FILES = Object.entries(DEMO_FILES).filter(([k]) => !['subject', 'styleA', 'styleB'].includes(k));

describe('generateDemoModels', () => {
  it('writes every file of the demo set, small, with demo names', () => {
    const expected = [
      ...MODEL_FILES.map(([, rel]) => join(models, rel)),
      join(input, DEMO_FILES.subject),
      join(input, DEMO_FILES.styleA),
      join(input, DEMO_FILES.styleB),
    ];
    expect([...first.written].sort()).toEqual([...expected].sort());
    let total = 0;
    for (const f of expected) {
      expect(f).toMatch(/uso-demo-/);
      total += statSync(f).size;
    }
    expect(total).toBeLessThan(20 * 2 ** 20);
  });

  it('labels every safetensors file as a demo without learned weights', () => {
    for (const [, rel] of MODEL_FILES.filter(([, r]) => r.endsWith('.safetensors'))) {
      const h = readSafetensorsHeader(join(models, rel));
      expect(h.metadata['uso_studio.demo']).toBe('true');
      expect(h.metadata.description).toBe('USO Studio demo model: no learned weights');
      expect(h.metadata['uso_studio.architecture']).toBeTruthy();
    }
  });

  it('is idempotent: a second run writes nothing; force rewrites everything', async () => {
    const mtime = statSync(join(models, DEMO_FILES.dit)).mtimeMs;
    const before = readFileSync(join(models, DEMO_FILES.checkpoint));
    expect((await generateDemoModels(models, input)).written).toEqual([]);
    expect(statSync(join(models, DEMO_FILES.dit)).mtimeMs).toBe(mtime);
    const again = await generateDemoModels(models, input, { force: true });
    expect([...again.written].sort()).toEqual([...first.written].sort());
    // Deterministic: the rewritten checkpoint has the same bytes.
    expect(readFileSync(join(models, DEMO_FILES.checkpoint)).equals(before)).toBe(true);
  });

  it('without an input folder writes models only', async () => {
    const only = mkdtempSync(join(tmpdir(), 'demo-models-only-'));
    const { written } = await generateDemoModels(only);
    expect(written.length).toBe(MODEL_FILES.length);
  });

  it('the checkpoint uses ComfyUI prefixes and every file loads through the loader in its roles', async () => {
    const ckpt = readSafetensorsHeader(join(models, DEMO_FILES.checkpoint));
    const prefixes = new Set([...ckpt.tensors.keys()].map((k) => Object.values(CHECKPOINT_PREFIXES).find((p) => k.startsWith(p))));
    expect(prefixes).toEqual(new Set(Object.values(CHECKPOINT_PREFIXES)));
    const registry = defaultArchitectures();
    const cache = join(root, 'graphs');
    const cases: [string, Role, string, string][] = [
      [DEMO_FILES.checkpoint, 'dit', 'uso-demo-dit', 'model.diffusion_model.'],
      [DEMO_FILES.checkpoint, 'vae_encoder', 'uso-demo-vae-encoder', 'vae.'],
      [DEMO_FILES.checkpoint, 'vae_decoder', 'uso-demo-vae-decoder', 'vae.'],
      [DEMO_FILES.checkpoint, 't5', 'uso-demo-t5', 'text_encoders.t5xxl.transformer.'],
      [DEMO_FILES.checkpoint, 'clip', 'uso-demo-clip', 'text_encoders.clip_l.transformer.'],
      [DEMO_FILES.dit, 'dit', 'uso-demo-dit', ''],
      [DEMO_FILES.vae, 'vae_encoder', 'uso-demo-vae-encoder', ''],
      [DEMO_FILES.vae, 'vae_decoder', 'uso-demo-vae-decoder', ''],
      [DEMO_FILES.t5, 't5', 'uso-demo-t5', ''],
      [DEMO_FILES.clip, 'clip', 'uso-demo-clip', ''],
      [DEMO_FILES.vision, 'vision_encoder', 'uso-demo-siglip-vision', ''],
      [DEMO_FILES.projector, 'projector', 'uso-projector', 'feature_embedder.'],
    ];
    for (const [rel, role, id, prefix] of cases) {
      const g = await loadModelGraph(join(models, rel), role, cache, registry);
      expect([rel, role, g.architecture, g.keyPrefix]).toEqual([rel, role, id, prefix]);
    }
  });

  it('the projector is recognisable the way ComfyUI does it', () => {
    const h = readSafetensorsHeader(join(models, DEMO_FILES.projector));
    expect(h.tensors.has('feature_embedder.mid_layer_norm.bias')).toBe(true);
    expect(h.tensors.get('feature_embedder.high_embedding_linear.0.weight')!.shape).toEqual([4, 729]);
    expect(h.tensors.get('feature_embedder.low_projection.weight')!.shape).toEqual([16, 16]);
  });

  it('the LoRA uses USO key names aimed at the DiT proj weight', () => {
    const h = readSafetensorsHeader(join(models, DEMO_FILES.lora));
    expect([...h.tensors.keys()].sort()).toEqual([
      'double_blocks.0.processor.proj_lora1.down.weight',
      'double_blocks.0.processor.proj_lora1.up.weight',
    ]);
    expect(h.tensors.get('double_blocks.0.processor.proj_lora1.down.weight')!.shape).toEqual([48, 64]);
    expect(h.tensors.get('double_blocks.0.processor.proj_lora1.up.weight')!.shape).toEqual([64, 48]);
    const dit = readSafetensorsHeader(join(models, DEMO_FILES.checkpoint));
    // USO mapping: proj_lora1 -> img_attn.proj (comfyui-sampling.md §12).
    expect(dit.tensors.get('model.diffusion_model.double_blocks.0.img_attn.proj.weight')!.shape).toEqual([64, 64]);
  });

  it('writes the tokenizers and valid PNG pictures', () => {
    expect(JSON.parse(readFileSync(join(models, DEMO_FILES.t5Tokenizer), 'utf8'))).toEqual(demoTokenizerJson(DEMO_T5_TOKENIZER));
    expect(JSON.parse(readFileSync(join(models, DEMO_FILES.clipTokenizer), 'utf8'))).toEqual(demoTokenizerJson(DEMO_CLIP_TOKENIZER));
    for (const rel of [DEMO_FILES.subject, DEMO_FILES.styleA, DEMO_FILES.styleB]) {
      const png = readFileSync(join(input, rel));
      expect(png.toString('ascii', 1, 4)).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512]);
    }
  });
});
