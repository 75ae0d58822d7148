import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensorsHeader, writeSafetensors } from '@uso-studio/runtime';
import { mapLora } from './lora.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-lora-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const t = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) });

/** A FLUX-like model's canonical keys and shapes (hidden 8, single-block linear1 = 3*8 qkv rows + 16 mlp rows). */
const model = new Map<string, number[]>([
  ['double_blocks.0.img_attn.qkv.weight', [24, 8]],
  ['double_blocks.0.txt_attn.qkv.weight', [24, 8]],
  ['double_blocks.0.img_attn.proj.weight', [8, 8]],
  ['double_blocks.0.txt_attn.proj.weight', [8, 8]],
  ['single_blocks.0.linear1.weight', [40, 8]],
  ['single_blocks.0.linear2.weight', [8, 24]],
]);
const map = (file: string, strength = 1) => mapLora(readSafetensorsHeader(file), model.keys(), (k) => model.get(k), strength, 'l0');

describe('mapLora', () => {
  it("maps USO's processor keys, with the single-block qkv LoRA on linear1's first rows", () => {
    const file = path.join(root, 'uso.safetensors');
    writeSafetensors(file, {
      'double_blocks.0.processor.qkv_lora1.down.weight': t([2, 8]),
      'double_blocks.0.processor.qkv_lora1.up.weight': t([24, 2]),
      'double_blocks.0.processor.qkv_lora2.down.weight': t([2, 8]),
      'double_blocks.0.processor.qkv_lora2.up.weight': t([24, 2]),
      'double_blocks.0.processor.proj_lora1.down.weight': t([2, 8]),
      'double_blocks.0.processor.proj_lora1.up.weight': t([8, 2]),
      'double_blocks.0.processor.proj_lora2.down.weight': t([2, 8]),
      'double_blocks.0.processor.proj_lora2.up.weight': t([8, 2]),
      'single_blocks.0.processor.qkv_lora.down.weight': t([2, 8]),
      'single_blocks.0.processor.qkv_lora.up.weight': t([24, 2]),
      'single_blocks.0.processor.proj_lora.down.weight': t([2, 24]),
      'single_blocks.0.processor.proj_lora.up.weight': t([8, 2]),
    });
    const m = map(file, 0.8);
    expect([...m.patches.keys()].sort()).toEqual([...model.keys()].sort());
    expect(m.unmatched).toEqual([]);
    const qkv = m.patches.get('single_blocks.0.linear1.weight')![0]!;
    expect(qkv.up.info.shape).toEqual([24, 2]);
    expect(qkv.rowOffset).toBe(0);
    expect(qkv.scale).toBeCloseTo(0.8);
    expect(qkv.name).toBe('l0/single_blocks.0.processor.qkv_lora');
  });

  it('maps diffusion_model. / lora_A-B and kohya lora_unet_ names, scaling by alpha / rank', () => {
    const file = path.join(root, 'peft.safetensors');
    writeSafetensors(file, {
      'diffusion_model.double_blocks.0.img_attn.proj.lora_A.weight': t([4, 8]),
      'diffusion_model.double_blocks.0.img_attn.proj.lora_B.weight': t([8, 4]),
      'lora_unet_single_blocks_0_linear2.lora_down.weight': t([4, 24]),
      'lora_unet_single_blocks_0_linear2.lora_up.weight': t([8, 4]),
      'lora_unet_single_blocks_0_linear2.alpha': { dtype: 'F32', shape: [], data: new Float32Array([2]) },
      'lora_te1_text_model_encoder.lora_down.weight': t([4, 8]),
      'lora_te1_text_model_encoder.lora_up.weight': t([8, 4]),
    });
    const m = map(file, 2);
    expect(m.patches.get('double_blocks.0.img_attn.proj.weight')![0]!.scale).toBe(2);
    expect(m.patches.get('single_blocks.0.linear2.weight')![0]!.scale).toBeCloseTo(2 * (2 / 4));
    expect(m.unmatched).toEqual(['lora_te1_text_model_encoder']);
  });

  it('refuses pairs that do not fit their weight and half pairs', () => {
    const bad = path.join(root, 'bad.safetensors');
    writeSafetensors(bad, { 'diffusion_model.double_blocks.0.img_attn.proj.lora_A.weight': t([4, 9]), 'diffusion_model.double_blocks.0.img_attn.proj.lora_B.weight': t([8, 4]) });
    expect(() => map(bad)).toThrow(/does not fit double_blocks\.0\.img_attn\.proj\.weight \[8,8\]/);
    const half = path.join(root, 'half.safetensors');
    writeSafetensors(half, { 'diffusion_model.double_blocks.0.img_attn.proj.lora_A.weight': t([4, 8]) });
    expect(() => map(half)).toThrow(/has only its down matrix/);
  });

  it("maps text-encoder names per role (ComfyUI's FLUX CLIP key map), diffusers' lora_linear_layer spelling included", () => {
    const file = path.join(root, 'te.safetensors');
    writeSafetensors(file, {
      'lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': t([2, 8]),
      'lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': t([8, 2]),
      'text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_linear_layer.down.weight': t([2, 8]),
      'text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_linear_layer.up.weight': t([16, 2]),
      'lora_te2_encoder_block_0_layer_0_SelfAttention_q.lora_down.weight': t([2, 8]),
      'lora_te2_encoder_block_0_layer_0_SelfAttention_q.lora_up.weight': t([8, 2]),
      'text_encoders.t5xxl.transformer.encoder.block.0.layer.1.DenseReluDense.wo.lora_A.weight': t([2, 16]),
      'text_encoders.t5xxl.transformer.encoder.block.0.layer.1.DenseReluDense.wo.lora_B.weight': t([8, 2]),
    });
    const clipL = new Map<string, number[]>([
      ['text_model.encoder.layers.0.self_attn.q_proj.weight', [8, 8]],
      ['text_model.encoder.layers.0.mlp.fc1.weight', [16, 8]],
    ]);
    const t5 = new Map<string, number[]>([
      ['encoder.block.0.layer.0.SelfAttention.q.weight', [8, 8]],
      ['encoder.block.0.layer.1.DenseReluDense.wo.weight', [8, 16]],
    ]);
    const onClip = mapLora(readSafetensorsHeader(file), clipL.keys(), (k) => clipL.get(k), 1, 'l0', 0, 'clip');
    expect([...onClip.patches.keys()].sort()).toEqual([...clipL.keys()].sort());
    expect(onClip.unmatched).toHaveLength(2);
    const onT5 = mapLora(readSafetensorsHeader(file), t5.keys(), (k) => t5.get(k), 1, 'l0', 0, 't5');
    expect([...onT5.patches.keys()].sort()).toEqual([...t5.keys()].sort());
    // The DiT reads none of them.
    expect(map(file).patched).toBe(0);
  });
});
