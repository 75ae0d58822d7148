import { describe, expect, it } from 'vitest';
import { loaderFor } from './model-loaders.ts';
import { testObjectInfo } from './test-support.ts';
import { entry } from '../../../core/src/formats/test-object-info.ts';

describe('loaderFor', () => {
  const info = testObjectInfo();
  info.VAELoader = entry('VAELoader', { vae_name: [['ae.safetensors']] }, ['VAE'], { category: 'loaders' });
  info.DualCLIPLoader = entry('DualCLIPLoader', { clip_name1: [['t5.safetensors', 'clip_l.safetensors']], clip_name2: [['t5.safetensors', 'clip_l.safetensors']] }, ['CLIP'], { category: 'advanced/loaders' });

  it('picks the folder loader the server has, with the input that takes the file', () => {
    expect(loaderFor('checkpoints', 'a.safetensors', info)).toEqual({ type: 'CheckpointLoaderSimple', input: 'ckpt_name' });
    expect(loaderFor('vae', 'ae.safetensors', info)).toEqual({ type: 'VAELoader', input: 'vae_name' });
    expect(loaderFor('clip_vision', 'x.safetensors', info)).toEqual({ type: 'CLIPVisionLoader', input: 'clip_name' });
    // No LoraLoader on this server: the model-only one; no CLIPLoader: DualCLIPLoader's first name.
    expect(loaderFor('loras', 'l.safetensors', info)).toEqual({ type: 'LoraLoaderModelOnly', input: 'lora_name' });
    expect(loaderFor('text_encoders', 't5.safetensors', info)).toEqual({ type: 'DualCLIPLoader', input: 'clip_name1' });
  });

  it('falls back to a loaders-category class whose combo lists the file, else null', () => {
    info.OddLoader = entry('OddLoader', { odd_name: [['odd.bin']] }, ['ODD'], { category: 'loaders' });
    expect(loaderFor('odd_models', 'odd.bin', info)).toEqual({ type: 'OddLoader', input: 'odd_name' });
    expect(loaderFor('odd_models', 'other.bin', info)).toBeNull();
    expect(loaderFor('diffusion_models', 'd.safetensors', info)).toBeNull();
  });
});
