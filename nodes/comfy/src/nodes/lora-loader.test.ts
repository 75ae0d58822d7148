/**
 * LoraLoader on the tiny real-architecture set, in workflows through the engine: a LoRA with text-encoder keys in
 * ComfyUI's formats (kohya lora_te1_ / lora_te2_, diffusers text_encoder., generic text_encoders.<model>.transformer.)
 * changes CLIPTextEncode's output exactly as merging W + strength * (alpha / rank) * up @ down into copies of the
 * T5-XXL and CLIP-L files does (the independent check); a LoRA without text-encoder keys leaves CLIP alone and says
 * so; its MODEL half samples as LoraLoaderModelOnly's; strength 0 and a LoRA matching nothing behave as ComfyUI's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineNode, Executor, NodeRegistry } from '@uso-studio/core';
import {
  readSafetensorsHeader,
  readTensorFloat32,
  writeSafetensors,
  TINY_FILES,
  type SafetensorsTensorInput,
  type Tensor,
} from '@uso-studio/runtime';
import { pack } from '../index.ts';
import type { ConditioningEntry } from '../flux/conditioning.ts';
import type { ClipDescriptor, ModelDescriptor } from '../models/descriptors.ts';
import { recordingContext } from '../test-support.ts';
import { loraLoader } from './lora-loader.ts';
import { tinyEncodersHost } from './tiny-encoders-host.ts';

const host = tinyEncodersHost('uso-lora-loader-');
const RANK = 2;
const ALPHA = 3;

/** Seeded values in [-0.5, 0.5). */
function seeded(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out[i] = state / 2 ** 31 - 0.5;
  }
  return out;
}

/** One LoRA pair for a [out, in] weight, under `base` with the given up/down suffixes. */
interface Update {
  base: string;
  target: string;
  up: Float32Array;
  down: Float32Array;
  out: number;
  in: number;
}

function update(file: string, base: string, target: string, seed: number): Update {
  const shape = readSafetensorsHeader(file).tensors.get(target)!.shape as [number, number];
  return { base, target, up: seeded(shape[0] * RANK, seed), down: seeded(RANK * shape[1], seed + 1), out: shape[0], in: shape[1] };
}

/** A copy of a weight file in F32 with each update merged at `strength`: W + strength * (alpha / rank) * up @ down. */
function writeMerged(source: string, dest: string, updates: readonly Update[], strength: number): void {
  const header = readSafetensorsHeader(source);
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const [name, info] of header.tensors) {
    const data = readTensorFloat32(header, name);
    for (const u of updates.filter((v) => v.target === name)) {
      const scale = strength * (ALPHA / RANK);
      for (let o = 0; o < u.out; o++) {
        for (let i = 0; i < u.in; i++) {
          let sum = 0;
          for (let r = 0; r < RANK; r++) sum += u.up[o * RANK + r]! * u.down[r * u.in + i]!;
          data[o * u.in + i]! += scale * sum;
        }
      }
    }
    tensors[name] = { dtype: 'F32', shape: info.shape, data };
  }
  writeSafetensors(dest, tensors);
}

function writeLora(dest: string, updates: readonly Update[], names: { up: string; down: string }): void {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const u of updates) {
    tensors[`${u.base}${names.up}`] = { dtype: 'F32', shape: [u.out, RANK], data: u.up };
    tensors[`${u.base}${names.down}`] = { dtype: 'F32', shape: [RANK, u.in], data: u.down };
    tensors[`${u.base}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(ALPHA) };
  }
  writeSafetensors(dest, tensors);
}

const captured = new Map<string, ConditioningEntry>();
const latents = new Map<string, Tensor>();
const captureLatent = defineNode({
  name: 'TestCaptureLatent',
  category: 'testing',
  inputs: { required: { samples: { type: 'LATENT' }, key: { type: 'STRING' } } },
  outputs: [],
  outputNode: true,
  execute(inputs) {
    latents.set(String(inputs['key']), (inputs['samples'] as { samples: Tensor }).samples);
    return { ui: {} };
  },
});
const captureConditioning = defineNode({
  name: 'TestCaptureConditioning',
  category: 'testing',
  inputs: { required: { conditioning: { type: 'CONDITIONING' }, key: { type: 'STRING' } } },
  outputs: [],
  outputNode: true,
  execute(inputs) {
    captured.set(String(inputs['key']), (inputs['conditioning'] as ConditioningEntry[])[0]!);
    return { ui: {} };
  },
});

async function run(prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>): Promise<void> {
  const executor = new Executor({ registry: new NodeRegistry([...pack.nodes, captureConditioning, captureLatent]), env: host.env() });
  const outcome = await executor.run(prompt, { promptId: 'lora' });
  expect(outcome.status, JSON.stringify(outcome.error)).toBe('success');
}

const TEXT = 'a red cat on the grass';
const t5Name = path.basename(TINY_FILES.t5);
const clipName = path.basename(TINY_FILES.clip);
const encode = (clip: [string, number], key: string) => ({
  [`enc_${key}`]: { class_type: 'CLIPTextEncode', inputs: { text: TEXT, clip } },
  [`out_${key}`]: { class_type: 'TestCaptureConditioning', inputs: { conditioning: [`enc_${key}`, 0], key } },
});

function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect([...a.shape]).toEqual([...b.shape]);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return max;
}

beforeAll(async () => {
  const modelsDir = host.modelsDir();
  fs.mkdirSync(path.join(modelsDir, 'loras'), { recursive: true });

  const t5File = path.join(modelsDir, TINY_FILES.t5);
  const clipFile = path.join(modelsDir, TINY_FILES.clip);
  const t5Updates = [
    update(t5File, 'lora_te2_encoder_block_0_layer_0_SelfAttention_q', 'encoder.block.0.layer.0.SelfAttention.q.weight', 11),
    update(t5File, 'lora_te2_encoder_block_1_layer_1_DenseReluDense_wo', 'encoder.block.1.layer.1.DenseReluDense.wo.weight', 21),
  ];
  const clipUpdates = [
    update(clipFile, 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj', 'text_model.encoder.layers.0.self_attn.q_proj.weight', 31),
    update(clipFile, 'lora_te1_text_model_encoder_layers_1_mlp_fc2', 'text_model.encoder.layers.1.mlp.fc2.weight', 41),
  ];
  writeLora(path.join(modelsDir, 'loras', 'te-kohya.safetensors'), [...t5Updates, ...clipUpdates], { up: '.lora_up.weight', down: '.lora_down.weight' });
  // The same updates under the generic and diffusers names, as lora_B / lora_A pairs.
  const renamed = [
    ...t5Updates.map((u) => ({ ...u, base: `text_encoders.t5xxl.transformer.${u.target.slice(0, -'.weight'.length)}` })),
    ...clipUpdates.map((u, i) => ({ ...u, base: `${i === 0 ? 'text_encoders.clip_l.transformer.' : 'text_encoder.'}${u.target.slice(0, -'.weight'.length)}` })),
  ];
  writeLora(path.join(modelsDir, 'loras', 'te-generic.safetensors'), renamed, { up: '.lora_B.weight', down: '.lora_A.weight' });
  writeLora(path.join(modelsDir, 'loras', 'te-t5-only.safetensors'), t5Updates, { up: '.lora_up.weight', down: '.lora_down.weight' });
  writeLora(path.join(modelsDir, 'loras', 'nothing.safetensors'), [{ ...t5Updates[0]!, base: 'lora_te9_unknown_layer' }], { up: '.lora_up.weight', down: '.lora_down.weight' });
  writeMerged(t5File, path.join(modelsDir, 'text_encoders', 'merged-t5.safetensors'), t5Updates, 0.7);
  writeMerged(clipFile, path.join(modelsDir, 'text_encoders', 'merged-clip.safetensors'), clipUpdates, 0.7);
  writeMerged(clipFile, path.join(modelsDir, 'text_encoders', 'merged-clip-neg.safetensors'), clipUpdates, -1.5);
  writeMerged(t5File, path.join(modelsDir, 'text_encoders', 'merged-t5-neg.safetensors'), t5Updates, -1.5);

  const dual = (a: string, b: string) => ({ class_type: 'DualCLIPLoader', inputs: { clip_name1: a, clip_name2: b, type: 'flux' } });
  const lora = (name: string, strengthClip: number) => ({
    class_type: 'LoraLoader',
    inputs: { model: ['unet', 0], clip: ['dual', 0], lora_name: name, strength_model: 1, strength_clip: strengthClip },
  });
  await run({
    unet: { class_type: 'UNETLoader', inputs: { unet_name: path.basename(TINY_FILES.dit), weight_dtype: 'default' } },
    dual: dual(t5Name, clipName),
    merged: dual('merged-t5.safetensors', 'merged-clip.safetensors'),
    mergedNeg: dual('merged-t5-neg.safetensors', 'merged-clip-neg.safetensors'),
    kohya: lora('te-kohya.safetensors', 0.7),
    kohyaNeg: lora('te-kohya.safetensors', -1.5),
    generic: lora('te-generic.safetensors', 0.7),
    off: lora('te-kohya.safetensors', 0),
    ...encode(['dual', 0], 'plain'),
    ...encode(['merged', 0], 'merged'),
    ...encode(['mergedNeg', 0], 'mergedNeg'),
    ...encode(['kohya', 1], 'kohya'),
    ...encode(['kohyaNeg', 1], 'kohyaNeg'),
    ...encode(['generic', 1], 'generic'),
    ...encode(['off', 1], 'off'),
  });
}, 120_000);

describe('LoraLoader: text-encoder LoRAs as run-time branches', () => {
  // The branch adds x down^T up^T beside the F16 weight; the merged file holds W + delta in F32. Float32 sums in
  // another order: the two agree to float32 rounding of the activations.
  const BOUND = 2e-5;

  it('equals merging the LoRA into T5-XXL and CLIP-L (kohya names, strength 0.7 and -1.5)', () => {
    expect(maxAbsDiff(captured.get('kohya')!.cond, captured.get('merged')!.cond)).toBeLessThanOrEqual(BOUND);
    expect(maxAbsDiff(captured.get('kohya')!.pooled_output!, captured.get('merged')!.pooled_output!)).toBeLessThanOrEqual(BOUND);
    expect(maxAbsDiff(captured.get('kohyaNeg')!.cond, captured.get('mergedNeg')!.cond)).toBeLessThanOrEqual(BOUND);
    expect(maxAbsDiff(captured.get('kohyaNeg')!.pooled_output!, captured.get('mergedNeg')!.pooled_output!)).toBeLessThanOrEqual(BOUND);
    // ...and the LoRA really changed both: far beyond the bound.
    expect(maxAbsDiff(captured.get('kohya')!.cond, captured.get('plain')!.cond)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(captured.get('kohya')!.pooled_output!, captured.get('plain')!.pooled_output!)).toBeGreaterThan(1e-3);
  });

  it('reads the generic text_encoders.* and diffusers text_encoder. names (lora_B / lora_A) the same way', () => {
    expect(maxAbsDiff(captured.get('generic')!.cond, captured.get('merged')!.cond)).toBeLessThanOrEqual(BOUND);
    expect(maxAbsDiff(captured.get('generic')!.pooled_output!, captured.get('merged')!.pooled_output!)).toBeLessThanOrEqual(BOUND);
  });

  it('strength_clip 0 leaves the encoders as they were', () => {
    expect(maxAbsDiff(captured.get('off')!.cond, captured.get('plain')!.cond)).toBe(0);
    expect(maxAbsDiff(captured.get('off')!.pooled_output!, captured.get('plain')!.pooled_output!)).toBe(0);
  });
});

describe('LoraLoader: the MODEL half', () => {
  it('samples exactly as LoraLoaderModelOnly at the same strength, and differently from no LoRA', async () => {
    const lora = path.basename(TINY_FILES.lora);
    const sample = (model: [string, number], key: string) => ({
      [`ks_${key}`]: {
        class_type: 'KSampler',
        inputs: { model, seed: 3, steps: 2, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['enc', 0], negative: ['enc', 0], latent_image: ['latent', 0], denoise: 1 },
      },
      [`out_${key}`]: { class_type: 'TestCaptureLatent', inputs: { samples: [`ks_${key}`, 0], key } },
    });
    await run({
      unet: { class_type: 'UNETLoader', inputs: { unet_name: path.basename(TINY_FILES.dit), weight_dtype: 'default' } },
      dual: { class_type: 'DualCLIPLoader', inputs: { clip_name1: t5Name, clip_name2: clipName, type: 'flux' } },
      enc: { class_type: 'CLIPTextEncode', inputs: { text: TEXT, clip: ['dual', 0] } },
      latent: { class_type: 'EmptySD3LatentImage', inputs: { width: 32, height: 32, batch_size: 1 } },
      both: { class_type: 'LoraLoader', inputs: { model: ['unet', 0], clip: ['dual', 0], lora_name: lora, strength_model: 0.8, strength_clip: 1 } },
      only: { class_type: 'LoraLoaderModelOnly', inputs: { model: ['unet', 0], lora_name: lora, strength_model: 0.8 } },
      ...sample(['both', 0], 'both'),
      ...sample(['only', 0], 'only'),
      ...sample(['unet', 0], 'none'),
    });
    expect([...latents.get('both')!.data]).toEqual([...latents.get('only')!.data]);
    expect(maxAbsDiff(latents.get('both')!, latents.get('none')!)).toBeGreaterThan(1e-4);
  });
});

describe('LoraLoader: what it applies where', () => {
  const inputs = async () => {
    const context = recordingContext(host.env());
    const unet = await pack.nodes.find((n) => n.name === 'UNETLoader')!.execute({ unet_name: path.basename(TINY_FILES.dit), weight_dtype: 'default' } as never, context);
    const dual = await pack.nodes.find((n) => n.name === 'DualCLIPLoader')!.execute({ clip_name1: t5Name, clip_name2: clipName, type: 'flux' } as never, context);
    return { model: (unet as { outputs: [ModelDescriptor] }).outputs[0], clip: (dual as { outputs: [ClipDescriptor] }).outputs[0] };
  };
  const load = async (values: Record<string, unknown>) => {
    const context = recordingContext(host.env());
    const result = (await loraLoader.execute(values as never, context)) as { outputs: [ModelDescriptor, ClipDescriptor] };
    return { model: result.outputs[0], clip: result.outputs[1], lines: context.lines };
  };

  it('a LoRA without text-encoder keys leaves CLIP alone and logs it', async () => {
    const { model, clip } = await inputs();
    const out = await load({ model, clip, lora_name: path.basename(TINY_FILES.lora), strength_model: 0.5, strength_clip: 1 });
    expect(out.clip).toBe(clip);
    expect(out.model.loras).toEqual([expect.objectContaining({ strength: 0.5 })]);
    expect(out.lines).toContain(`info: ${path.basename(TINY_FILES.lora)}: no text-encoder weights in this LoRA (no lora_te*/text_encoders.* keys); CLIP unchanged`);
  });

  it('a T5-only LoRA patches T5-XXL only; the model is untouched and says so', async () => {
    const { model, clip } = await inputs();
    const out = await load({ model, clip, lora_name: 'te-t5-only.safetensors', strength_model: 1, strength_clip: 0.25 });
    expect(out.model).toBe(model);
    expect(out.clip.t5!.loras).toEqual([expect.objectContaining({ name: 'te-t5-only.safetensors', strength: 0.25 })]);
    expect(out.clip.clip!.loras ?? []).toEqual([]);
    expect(out.lines).toContain('info: te-t5-only.safetensors: no diffusion-model weights in this LoRA; MODEL unchanged');
    expect(out.lines).toContain('info: te-t5-only.safetensors: patched 2 T5-XXL and 0 CLIP-L weights at strength 0.25');
  });

  it('both strengths 0 return the inputs; a LoRA that matches nothing is an error naming it', async () => {
    const { model, clip } = await inputs();
    const off = await load({ model, clip, lora_name: 'te-kohya.safetensors', strength_model: 0, strength_clip: 0 });
    expect(off.model).toBe(model);
    expect(off.clip).toBe(clip);
    await expect(load({ model, clip, lora_name: 'nothing.safetensors', strength_model: 1, strength_clip: 1 })).rejects.toThrow(/nothing.safetensors: none of its keys match/);
  });
});
