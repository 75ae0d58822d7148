/**
 * LatentUpscale and LatentUpscaleBy (ComfyUI nodes.py): resize LATENT samples with `common_upscale`'s methods
 * (runtime `commonUpscaleLatent`: torch's interpolate modes and ComfyUI's bislerp). The other keys of the LATENT
 * (noise_mask, batch_index) pass through unchanged, as ComfyUI copies the dict.
 */

import { defineNode } from '@uso-studio/core';
import { LATENT_UPSCALE_METHODS, commonUpscaleLatent, roundHalfEven, type LatentUpscaleMethod } from '@uso-studio/runtime';
import { expectLatent } from '../flux/sample.ts';
import { MAX_RESOLUTION } from './latent.ts';

/**
 * LatentUpscale's size rule, in pixels: 0 for one side keeps the aspect ratio (Python rounding); each side is at
 * least 64; the latent gets pixels // 8.
 */
export function latentUpscaleSize(latentWidth: number, latentHeight: number, width: number, height: number): { width: number; height: number } {
  if (width === 0) {
    height = Math.max(64, height);
    width = Math.max(64, roundHalfEven((latentWidth * height) / latentHeight));
  } else if (height === 0) {
    width = Math.max(64, width);
    height = Math.max(64, roundHalfEven((latentHeight * width) / latentWidth));
  } else {
    width = Math.max(64, width);
    height = Math.max(64, height);
  }
  return { width: Math.floor(width / 8), height: Math.floor(height / 8) };
}

export const latentUpscale = defineNode({
  name: 'LatentUpscale',
  displayName: 'Upscale Latent',
  category: 'latent',
  pack: 'nodes',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      upscale_method: { type: 'COMBO', options: LATENT_UPSCALE_METHODS },
      width: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 8 },
      height: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 8 },
      crop: { type: 'COMBO', options: ['disabled', 'center'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  execute(inputs) {
    const latent = expectLatent(inputs.samples, 'samples');
    const width = Number(inputs.width);
    const height = Number(inputs.height);
    if (width === 0 && height === 0) return { outputs: [latent] };
    const [, , h, w] = latent.samples.shape as [number, number, number, number];
    const size = latentUpscaleSize(w, h, width, height);
    const crop = inputs.crop === 'center' ? 'center' : 'disabled';
    const samples = commonUpscaleLatent(latent.samples, size.width, size.height, inputs.upscale_method as LatentUpscaleMethod, crop);
    return { outputs: [{ ...latent, samples }] };
  },
});

export const latentUpscaleBy = defineNode({
  name: 'LatentUpscaleBy',
  displayName: 'Upscale Latent By',
  category: 'latent',
  pack: 'nodes',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      upscale_method: { type: 'COMBO', options: LATENT_UPSCALE_METHODS },
      scale_by: { type: 'FLOAT', default: 1.5, min: 0.01, max: 8.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  execute(inputs) {
    const latent = expectLatent(inputs.samples, 'samples');
    const scale = Number(inputs.scale_by);
    const [, , h, w] = latent.samples.shape as [number, number, number, number];
    const width = roundHalfEven(w * scale);
    const height = roundHalfEven(h * scale);
    if (width < 1 || height < 1) throw new RangeError(`LatentUpscaleBy: scale_by ${scale} leaves a ${w}x${h} latent with no pixels (${width}x${height})`);
    const samples = commonUpscaleLatent(latent.samples, width, height, inputs.upscale_method as LatentUpscaleMethod, 'disabled');
    return { outputs: [{ ...latent, samples }] };
  },
});
