import { describe, it, expect, afterAll } from 'vitest';
import path from 'node:path';
import { NodeRegistry } from '@uso-studio/core';
import { writeSafetensors } from '@uso-studio/runtime';
import { makeTestHost, recordingContext } from '../test-support.ts';
import { checkpointLoaderSimple, clipVisionLoader, dualClipLoader, loraLoaderModelOnly, unetLoader, vaeLoader } from './loaders.ts';
import type { ClipDescriptor, ModelDescriptor } from '../models/descriptors.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const ctx = () => recordingContext(host.env);

describe('loader nodes', () => {
  it('have ComfyUI schemas with combos listing their folders', () => {
    const info = new NodeRegistry([checkpointLoaderSimple, unetLoader, dualClipLoader, vaeLoader, clipVisionLoader, loraLoaderModelOnly]).objectInfo(host.env);
    expect(info.CheckpointLoaderSimple!.input.required.ckpt_name![0]).toEqual(['test-checkpoint.safetensors']);
    expect(info.CheckpointLoaderSimple!.output).toEqual(['MODEL', 'CLIP', 'VAE']);
    expect(info.CheckpointLoaderSimple!.category).toBe('loaders');
    expect(info.UNETLoader!.input.required.weight_dtype![0]).toEqual(['default', 'fp8_e4m3fn', 'fp8_e4m3fn_fast', 'fp8_e5m2']);
    expect(info.DualCLIPLoader!.input.required.type![0]).toContain('flux');
    expect(info.DualCLIPLoader!.input.optional!.device![0]).toEqual(['default', 'cpu']);
    expect(info.LoraLoaderModelOnly!.input.required.strength_model).toEqual(['FLOAT', { default: 1, min: -100, max: 100, step: 0.01 }]);
    expect(info.CLIPVisionLoader!.input.required.clip_name![0]).toEqual(['test-vision.safetensors']);
    expect(loraLoaderModelOnly.inputs.required!.lora_name!.modelFolder).toBe('loras');
  });

  it('load a single-file checkpoint into MODEL, CLIP and VAE descriptors', async () => {
    const { outputs } = await checkpointLoaderSimple.execute({ ckpt_name: 'test-checkpoint.safetensors' }, ctx());
    const [model, clip, vae] = outputs as [ModelDescriptor, ClipDescriptor, { kind: string }];
    expect(model).toMatchObject({ kind: 'MODEL', name: 'test-checkpoint.safetensors', loras: [], styles: [], shift: 1.15 });
    expect(Object.isFrozen(model)).toBe(true);
    expect(clip.kind).toBe('CLIP');
    // A checkpoint's text encoders find their tokenizers through its metadata.
    expect(path.basename(clip.t5!.tokenizer)).toBe('test-t5xxl.tokenizer.json');
    expect(vae.kind).toBe('VAE');
  });

  it('load separate files and refuse foreign ones with the file name', async () => {
    const [model] = (await unetLoader.execute({ unet_name: 'test-dit.safetensors', weight_dtype: 'default' }, ctx())).outputs!;
    expect((model as ModelDescriptor).file).toBe(path.join(host.env.modelsDir, 'diffusion_models', 'test-dit.safetensors'));
    const [clip] = (await dualClipLoader.execute({ clip_name1: 'test-clip_l.safetensors', clip_name2: 'test-t5xxl.safetensors', type: 'flux' }, ctx())).outputs!;
    expect((clip as ClipDescriptor).t5!.name).toBe('test-t5xxl.safetensors');
    expect((clip as ClipDescriptor).clip!.name).toBe('test-clip_l.safetensors');
    await expect(dualClipLoader.execute({ clip_name1: 'test-clip_l.safetensors', clip_name2: 'test-t5xxl.safetensors', type: 'sdxl' }, ctx())).rejects.toThrow(/use 'flux'/);
    await expect(vaeLoader.execute({ vae_name: 'test-ae.safetensors' }, ctx())).resolves.toBeTruthy();
    await expect(vaeLoader.execute({ vae_name: '../checkpoints/test-checkpoint.safetensors' }, ctx())).rejects.toThrow(/inside the folder/);
    await expect(clipVisionLoader.execute({ clip_name: 'nope.safetensors' }, ctx())).rejects.toThrow(/clip_vision\/nope\.safetensors: file not found/);
  });

  it('LoraLoaderModelOnly returns a new descriptor and leaves the old one alone', async () => {
    const lora = path.join(host.env.modelsDir, 'loras', 'l.safetensors');
    const t = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape[0]! * shape[1]!).fill(0.01) });
    writeSafetensors(lora, { 'diffusion_model.double_blocks.0.img_attn.proj.lora_A.weight': t([4, 64]), 'diffusion_model.double_blocks.0.img_attn.proj.lora_B.weight': t([64, 4]) });
    const [model] = (await unetLoader.execute({ unet_name: 'test-dit.safetensors', weight_dtype: 'default' }, ctx())).outputs! as [ModelDescriptor];
    const c = ctx();
    const [patched] = (await loraLoaderModelOnly.execute({ model, lora_name: 'l.safetensors', strength_model: 0.5 }, c)).outputs! as [ModelDescriptor];
    expect(patched.loras).toEqual([{ file: lora, name: 'l.safetensors', strength: 0.5 }]);
    expect(model.loras).toEqual([]);
    expect(c.lines.some((l) => l.includes('patched 1 weights'))).toBe(true);
    const [same] = (await loraLoaderModelOnly.execute({ model, lora_name: 'l.safetensors', strength_model: 0 }, ctx())).outputs!;
    expect(same).toBe(model);
    const foreign = path.join(host.env.modelsDir, 'loras', 'foreign.safetensors');
    writeSafetensors(foreign, { 'lora_te_text_model.lora_up.weight': t([64, 4]), 'lora_te_text_model.lora_down.weight': t([4, 64]) });
    await expect(loraLoaderModelOnly.execute({ model, lora_name: 'foreign.safetensors', strength_model: 1 }, ctx())).rejects.toThrow(/none of its keys match/);
  });
});
