/** Latent nodes: EmptyLatentImage, EmptySD3LatentImage, VAEEncode, VAEDecode (the tiled ones are in vae-tiled.ts). */

import { defineNode } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import { expectDescriptor, type VaeDescriptor } from '../models/descriptors.ts';
import { getModelService } from '../models/model-service.ts';
import { expectLatent } from '../flux/sample.ts';
import { vaeDecodeRaw, vaeEncodeRaw } from '../flux/vae-runner.ts';

/** ComfyUI's MAX_RESOLUTION. */
export const MAX_RESOLUTION = 16384;

export const emptyLatentImage = defineNode({
  name: 'EmptyLatentImage',
  displayName: 'Empty Latent Image',
  category: 'latent',
  description: 'Create a new batch of empty latent images to be denoised via sampling.',
  pack: 'nodes',
  inputs: {
    required: {
      width: { type: 'INT', default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: 'The width of the latent images in pixels.' },
      height: { type: 'INT', default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: 'The height of the latent images in pixels.' },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096, tooltip: 'The number of latent images in the batch.' },
    },
  },
  outputs: [{ type: 'LATENT', tooltip: 'The empty latent image batch.' }],
  execute(inputs) {
    const [w, h, b] = [Number(inputs.width), Number(inputs.height), Number(inputs.batch_size)];
    return { outputs: [{ samples: Tensor.zeros([b, 4, Math.floor(h / 8), Math.floor(w / 8)]) }] };
  },
});

export const emptySD3LatentImage = defineNode({
  name: 'EmptySD3LatentImage',
  category: 'latent/sd3',
  pack: 'comfy_extras.nodes_sd3',
  comfyApi: 'v3',
  inputs: {
    required: {
      width: { type: 'INT', default: 1024, min: 16, max: MAX_RESOLUTION, step: 16 },
      height: { type: 'INT', default: 1024, min: 16, max: MAX_RESOLUTION, step: 16 },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  execute(inputs) {
    const [w, h, b] = [Number(inputs.width), Number(inputs.height), Number(inputs.batch_size)];
    return { outputs: [{ samples: Tensor.zeros([b, 16, Math.floor(h / 8), Math.floor(w / 8)]) }] };
  },
});

/**
 * IMAGE [B, H, W, C] 0..1 -> the VAE's input [B, 3, H', W'] in -1..1, H' and W' cropped to multiples of 8 around
 * the centre (offset (d % 8) // 2), alpha dropped.
 */
export function vaeInput(image: Tensor<'float32'>): Tensor<'float32'> {
  if (image.shape.length !== 4) throw new RangeError(`pixels must be an IMAGE [B, H, W, C], got [${image.shape.join(', ')}]`);
  const [b, h, w, c] = image.shape as [number, number, number, number];
  const h8 = Math.floor(h / 8) * 8;
  const w8 = Math.floor(w / 8) * 8;
  if (h8 === 0 || w8 === 0) throw new RangeError(`image ${w}x${h} is smaller than 8 pixels on a side`);
  const y0 = Math.floor((h % 8) / 2);
  const x0 = Math.floor((w % 8) / 2);
  const out = new Float32Array(b * 3 * h8 * w8);
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < 3; ch++) {
      const src = Math.min(ch, c - 1); // grey images repeat their one channel
      for (let y = 0; y < h8; y++) {
        for (let x = 0; x < w8; x++) {
          out[((n * 3 + ch) * h8 + y) * w8 + x] = image.data[((n * h + y + y0) * w + x + x0) * c + src]! * 2 - 1;
        }
      }
    }
  }
  return Tensor.float32([b, 3, h8, w8], out);
}

/** The VAE's output [B, 3, H, W] about -1..1 -> IMAGE [B, H, W, 3] clamped to 0..1. */
export function vaeOutputToImage(x: Tensor<'float32'>): Tensor<'float32'> {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(b * h * w * 3);
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < 3; ch++) {
      const from = Math.min(ch, c - 1);
      for (let p = 0; p < h * w; p++) {
        const v = (x.data[(n * c + from) * h * w + p]! + 1) / 2;
        out[(n * h * w + p) * 3 + ch] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return Tensor.float32([b, h, w, 3], out);
}

export const vaeEncode = defineNode({
  name: 'VAEEncode',
  displayName: 'VAE Encode',
  category: 'latent',
  pack: 'nodes',
  inputs: { required: { pixels: { type: 'IMAGE' }, vae: { type: 'VAE' } } },
  outputs: [{ type: 'LATENT' }],
  async execute(inputs, context) {
    const vae = expectDescriptor<'VAE', VaeDescriptor>(inputs.vae, 'VAE', 'vae');
    const image = inputs.pixels;
    if (!(image instanceof Tensor)) throw new TypeError("input 'pixels' must be an IMAGE");
    // Whole when the estimated activations fit the memory budget, else in batch chunks or tiles (as ComfyUI falls back).
    const latent = await vaeEncodeRaw(getModelService(context.env), vae.file, vaeInput(image as Tensor<'float32'>), { log: (l) => context.log.warn(l) });
    return { outputs: [{ samples: latent }] };
  },
});

export const vaeDecode = defineNode({
  name: 'VAEDecode',
  displayName: 'VAE Decode',
  category: 'latent',
  description: 'Decodes latent images back into pixel space images.',
  pack: 'nodes',
  inputs: {
    required: {
      samples: { type: 'LATENT', tooltip: 'The latent to be decoded.' },
      vae: { type: 'VAE', tooltip: 'The VAE model used for decoding the latent.' },
    },
  },
  outputs: [{ type: 'IMAGE', tooltip: 'The decoded image.' }],
  async execute(inputs, context) {
    if (inputs.vae === null || inputs.vae === undefined) {
      throw new Error('ERROR: VAE is invalid: None\n\nIf the VAE is from a checkpoint loader node your checkpoint does not contain a valid VAE.');
    }
    const vae = expectDescriptor<'VAE', VaeDescriptor>(inputs.vae, 'VAE', 'vae');
    const samples = expectLatent(inputs.samples, 'samples').samples;
    const image = await vaeDecodeRaw(getModelService(context.env), vae.file, samples, { log: (l) => context.log.warn(l) });
    return { outputs: [vaeOutputToImage(image)] };
  },
});
