/**
 * The FLUX VAE decoder (`flux-vae-decoder`, role vae_decoder): raw latent [B, 16, h, w] -> image [B, 3, 8h, 8w],
 * about -1..1 and not clamped. conv_in, the mid block, then per level from the lowest resolution up: res blocks and
 * (except at level 0) a nearest x2 upsample with its conv; norm_out, swish, conv_out.
 */

import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { conv2d } from '../../onnx/blocks.ts';
import type { Architecture } from '../architecture.ts';
import { decoderWeights, detectFluxVae, fluxVaeLookalike, FLUX_VAE_PREFIXES, inferFluxVaeConfig, levelWidths, type FluxVaeConfig } from './flux-vae-config.ts';
import { midBlock, normSwish, resBlock, upsample } from './flux-vae-blocks.ts';
import { FLUX_VAE_DIFFUSERS_LAYOUT } from './flux-vae-diffusers.ts';
import { fluxVaeActivationBytes } from './flux-vae-memory.ts';

export const FLUX_VAE_DECODER_ID = 'flux-vae-decoder';

export const fluxVaeDecoder: Architecture<FluxVaeConfig> = {
  id: FLUX_VAE_DECODER_ID,
  version: 2,
  role: 'vae_decoder',
  // Accelerators get float16 products (onnx/mixed-precision.ts); norms and the rest stay float32.
  computeDtypes: ['float32', 'float16'],
  // Level 'all' decodes 20-25 % faster on the CPU (NCHWc layout) but copies every conv weight at session creation
  // (F32: +250-310 MiB, 0.4 s of CPU against 0.15-0.2 s); the DiT dwarfs the decode time, the copy stays in memory.
  sessionOptimizationLevel: 'extended',
  keyPrefixes: FLUX_VAE_PREFIXES,
  keyLayouts: [FLUX_VAE_DIFFUSERS_LAYOUT],
  detect: (h) => detectFluxVae(h, 'decoder'),
  lookalike: fluxVaeLookalike,
  // A whole-autoencoder file also holds the other half, which the other role's graph reads.
  ignoredWeights: (_c, names) => [...names].filter((n) => n.startsWith('encoder.')),
  inferConfig: (h) => inferFluxVaeConfig(h, 'decoder'),
  requiredWeights: decoderWeights,
  activationBytes: (c, dims) => fluxVaeActivationBytes(c, 'decoder', dims),
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'flux_vae_decoder', weights, metadata: { architecture: FLUX_VAE_DECODER_ID } });
    const latent = g.input('latent', 'float32', ['B', c.latentChannels, 'h', 'w']); // [B, 16, h, w]
    const widths = levelWidths(c);
    let h = conv2d(g, latent, 'decoder.conv_in', { padding: 1 }); // [B, 512, h, w]
    h = midBlock(g, h, 'decoder.mid', c, widths[widths.length - 1]!); // [B, 512, h, w]
    for (let level = widths.length - 1; level >= 0; level--) {
      for (let b = 0; b < c.decoderResBlocks; b++) h = resBlock(g, h, `decoder.up.${level}.block.${b}`, c); // [B, ch*mult[level], ...]
      if (level !== 0) h = upsample(g, h, `decoder.up.${level}.upsample`); // spatial x2
    }
    const image = conv2d(g, normSwish(g, h, 'decoder.norm_out', c), 'decoder.conv_out', { padding: 1 }); // [B, 3, 8h, 8w]
    g.output(image, 'image', 'float32', ['B', c.imageChannels, 'h*8', 'w*8']);
    return g.build();
  },
};
