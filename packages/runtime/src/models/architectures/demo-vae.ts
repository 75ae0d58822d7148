/**
 * The demo VAE (`uso-demo-vae-encoder`, `uso-demo-vae-decoder`): a hand-set, nearly invertible 8x8 patch code with
 * the FLUX VAE's interface (16 latent channels, 8x downsampling), so VAEEncode/VAEDecode run the same path as the
 * real autoencoder without learned weights.
 *
 * Encoder: one Conv 3->16, kernel 8, stride 8 (`encoder.conv_in`). Channel c*4+q holds the mean of colour c over
 * quadrant q (4x4 pixels, q = qy*2+qx) of the block; channels 12..15 are zero.
 * Decoder: a 1x1 Conv 16->12 (`decoder.conv_in`, selecting channels 0..11), DepthToSpace(2) into a [B, 3, 2h, 2w]
 * quadrant grid, bilinear Resize x4 (half-pixel) to [B, 3, 8h, 8w]. Not clamped (the contract leaves that to the node).
 *
 * Keys sit under `vae.` in the combined checkpoint and at the top level of the split file.
 */

import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { conv2d } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { Architecture } from '../architecture.ts';
import { DEMO_IDS, isDemoFile, requireShape, shapeOf } from './demo-common.ts';

export interface DemoVaeEncoderConfig {
  /** Latent channels (16). */
  readonly latentChannels: number;
  /** Kernel = stride = downsampling factor (8). */
  readonly patch: number;
}

export interface DemoVaeDecoderConfig {
  readonly latentChannels: number;
  /** Colour channels times quadrants read by the decoder (12 = 3 x 4). */
  readonly quadrantChannels: number;
  /** Upsampling of the quadrant grid to pixels (4). */
  readonly upscale: number;
}

const VAE_PREFIXES = ['vae.', ''] as const;

function inferEncoder(h: SafetensorsHeader): DemoVaeEncoderConfig {
  const [out, inC, kh, kw] = requireShape(h, 'encoder.conv_in.weight', 4) as [number, number, number, number];
  if (inC !== 3 || kh !== kw) throw new Error(`${h.path}: encoder.conv_in.weight [${out}, ${inC}, ${kh}, ${kw}] is not a demo patch encoder`);
  return { latentChannels: out, patch: kh };
}

function inferDecoder(h: SafetensorsHeader): DemoVaeDecoderConfig {
  const [quad, latent, kh, kw] = requireShape(h, 'decoder.conv_in.weight', 4) as [number, number, number, number];
  if (kh !== 1 || kw !== 1 || quad % 4 !== 0 || quad / 4 !== 3) {
    throw new Error(`${h.path}: decoder.conv_in.weight [${quad}, ${latent}, ${kh}, ${kw}] is not a demo quadrant decoder`);
  }
  return { latentChannels: latent, quadrantChannels: quad, upscale: 4 };
}

/** Demo VAE encoder: image [B, 3, H, W] in -1..1 -> latent [B, 16, H/8, W/8]. */
export const demoVaeEncoder: Architecture<DemoVaeEncoderConfig> = {
  id: DEMO_IDS.vaeEncoder,
  version: 1,
  role: 'vae_encoder',
  keyPrefixes: VAE_PREFIXES,
  detect: (h) => {
    const s = shapeOf(h, 'encoder.conv_in.weight');
    return isDemoFile(h) && s !== undefined && s.length === 4 && s[1] === 3 && s[2] === s[3] && s[2]! > 3;
  },
  inferConfig: inferEncoder,
  requiredWeights: () => ['encoder.conv_in.weight', 'encoder.conv_in.bias'],
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'uso_demo_vae_encoder', weights, metadata: { architecture: DEMO_IDS.vaeEncoder } });
    const image = g.input('image', 'float32', ['B', 3, 'H', 'W']); // [B, 3, H, W]
    const z = conv2d(g, image, 'encoder.conv_in', { stride: c.patch }); // [B, 16, H/8, W/8]
    g.output(z, 'latent', 'float32', ['B', c.latentChannels, 'H/8', 'W/8']);
    return g.build();
  },
};

/** Demo VAE decoder: latent [B, 16, h, w] -> image [B, 3, 8h, 8w]. */
export const demoVaeDecoder: Architecture<DemoVaeDecoderConfig> = {
  id: DEMO_IDS.vaeDecoder,
  version: 1,
  role: 'vae_decoder',
  keyPrefixes: VAE_PREFIXES,
  detect: (h) => {
    const s = shapeOf(h, 'decoder.conv_in.weight');
    return isDemoFile(h) && s !== undefined && s.length === 4 && s[2] === 1 && s[3] === 1;
  },
  inferConfig: inferDecoder,
  requiredWeights: () => ['decoder.conv_in.weight', 'decoder.conv_in.bias'],
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'uso_demo_vae_decoder', weights, metadata: { architecture: DEMO_IDS.vaeDecoder } });
    const latent = g.input('latent', 'float32', ['B', c.latentChannels, 'h', 'w']); // [B, 16, h, w]
    const quads = conv2d(g, latent, 'decoder.conv_in'); // [B, 12, h, w]
    const grid = g.op('DepthToSpace', [quads], {
      name: 'decoder.depth_to_space',
      attrs: { blocksize: { type: 'int', value: 2 }, mode: { type: 'string', value: 'CRD' } },
    }); // [B, 3, 2h, 2w]: channel c*4 + qy*2 + qx lands at (2y+qy, 2x+qx)
    const image = g.resize(grid, [1, 1, c.upscale, c.upscale], {
      mode: 'linear',
      coordinateTransformationMode: 'half_pixel',
      name: 'decoder.upsample',
    }); // [B, 3, 8h, 8w]
    g.output(image, 'image', 'float32', ['B', 3, 'h*8', 'w*8']);
    return g.build();
  },
};
