/**
 * VAEDecodeTiled and VAEEncodeTiled: ComfyUI's nodes (nodes.py) with their inputs, defaults and ranges. Tiles are
 * blended as comfy/utils.py tiled_scale does, averaged over three tile shapes (comfy/sd.py decode_tiled_ /
 * encode_tiled_). temporal_size and temporal_overlap only matter for video VAEs; they are accepted and unused, as
 * ComfyUI ignores them for image VAEs.
 */

import { defineNode } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import { expectDescriptor, type VaeDescriptor } from '../models/descriptors.ts';
import { getModelService } from '../models/model-service.ts';
import { expectLatent } from '../flux/sample.ts';
import { VAE_SCALE, vaeDecodeRaw, vaeEncodeRaw } from '../flux/vae-runner.ts';
import { vaeInput, vaeOutputToImage } from './latent.ts';

const temporalInputs = (verb: 'decode' | 'encode') => ({
  temporal_size: {
    type: 'INT',
    default: 64,
    min: 8,
    max: 4096,
    step: 4,
    tooltip: `Only used for video VAEs: Amount of frames to ${verb} at a time.`,
  },
  temporal_overlap: { type: 'INT', default: 8, min: 4, max: 4096, step: 4, tooltip: 'Only used for video VAEs: Amount of frames to overlap.' },
});

export const vaeDecodeTiled = defineNode({
  name: 'VAEDecodeTiled',
  displayName: 'VAE Decode (Tiled)',
  category: '_for_testing',
  pack: 'nodes',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      vae: { type: 'VAE' },
      tile_size: { type: 'INT', default: 512, min: 64, max: 4096, step: 32 },
      overlap: { type: 'INT', default: 64, min: 0, max: 4096, step: 32 },
      ...temporalInputs('decode'),
    },
  },
  outputs: [{ type: 'IMAGE' }],
  async execute(inputs, context) {
    const vae = expectDescriptor<'VAE', VaeDescriptor>(inputs.vae, 'VAE', 'vae');
    const samples = expectLatent(inputs.samples, 'samples').samples;
    const tileSize = Number(inputs.tile_size);
    // ComfyUI: an overlap above a quarter of the tile is cut to a quarter; sizes are in pixels, tiles in latents.
    const overlap = tileSize < Number(inputs.overlap) * 4 ? Math.floor(tileSize / 4) : Number(inputs.overlap);
    const tile = Math.floor(tileSize / VAE_SCALE);
    const tiling = { tileH: tile, tileW: tile, overlap: Math.floor(overlap / VAE_SCALE) };
    const image = await vaeDecodeRaw(getModelService(context.env), vae.file, samples, { tiling });
    return { outputs: [vaeOutputToImage(image)] };
  },
});

export const vaeEncodeTiled = defineNode({
  name: 'VAEEncodeTiled',
  displayName: 'VAE Encode (Tiled)',
  category: '_for_testing',
  pack: 'nodes',
  inputs: {
    required: {
      pixels: { type: 'IMAGE' },
      vae: { type: 'VAE' },
      tile_size: { type: 'INT', default: 512, min: 64, max: 4096, step: 64 },
      overlap: { type: 'INT', default: 64, min: 0, max: 4096, step: 32 },
      ...temporalInputs('encode'),
    },
  },
  outputs: [{ type: 'LATENT' }],
  async execute(inputs, context) {
    const vae = expectDescriptor<'VAE', VaeDescriptor>(inputs.vae, 'VAE', 'vae');
    if (!(inputs.pixels instanceof Tensor)) throw new TypeError("input 'pixels' must be an IMAGE");
    const tileSize = Number(inputs.tile_size);
    const overlap = Number(inputs.overlap);
    // ComfyUI's encoder passes use tiles of half the size on one axis; they must stay larger than the overlap.
    if (Math.floor(tileSize / 2) <= overlap) {
      throw new RangeError(`VAEEncodeTiled: overlap ${overlap} must be smaller than half the tile size (${tileSize} / 2); lower overlap or raise tile_size`);
    }
    const tiling = { tileH: tileSize, tileW: tileSize, overlap };
    const latent = await vaeEncodeRaw(getModelService(context.env), vae.file, vaeInput(inputs.pixels as Tensor<'float32'>), { tiling });
    return { outputs: [{ samples: latent }] };
  },
});
