/**
 * The FLUX VAE encoder (`flux-vae-encoder`, role vae_encoder): image [B, 3, H, W] in -1..1 -> the posterior mean
 * [B, 16, H/8, W/8]. conv_in, then per level res blocks and (except at the last level) a stride-2 downsample, the mid
 * block, norm_out, swish, conv_out to 2 x 16 channels (mean, log-variance), of which the graph returns the mean.
 * Scale 0.3611 and shift 0.1159 stay outside the graph (the contract's raw latent).
 */

import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { conv2d } from '../../onnx/blocks.ts';
import type { Architecture } from '../architecture.ts';
import { detectFluxVae, fluxVaeLookalike, encoderWeights, FLUX_VAE_PREFIXES, inferFluxVaeConfig, levelWidths, type FluxVaeConfig } from './flux-vae-config.ts';
import { downsample, midBlock, normSwish, resBlock } from './flux-vae-blocks.ts';
import { FLUX_VAE_DIFFUSERS_LAYOUT } from './flux-vae-diffusers.ts';
import { fluxVaeActivationBytes } from './flux-vae-memory.ts';

export const FLUX_VAE_ENCODER_ID = 'flux-vae-encoder';

export const fluxVaeEncoder: Architecture<FluxVaeConfig> = {
  id: FLUX_VAE_ENCODER_ID,
  version: 2,
  role: 'vae_encoder',
  // Accelerators get float16 products (onnx/mixed-precision.ts); norms and the rest stay float32.
  computeDtypes: ['float32', 'float16'],
  // Level 'all' runs the convs 20-25 % faster on the CPU (NCHWc layout) but copies every conv weight at session
  // creation (F32: +250-280 MiB, three times the CPU); the DiT dwarfs the VAE's run time, the copy stays in memory.
  sessionOptimizationLevel: 'extended',
  keyPrefixes: FLUX_VAE_PREFIXES,
  keyLayouts: [FLUX_VAE_DIFFUSERS_LAYOUT],
  detect: (h) => detectFluxVae(h, 'encoder'),
  lookalike: fluxVaeLookalike,
  // A whole-autoencoder file also holds the other half, which the other role's graph reads.
  ignoredWeights: (_c, names) => [...names].filter((n) => n.startsWith('decoder.')),
  inferConfig: (h) => inferFluxVaeConfig(h, 'encoder'),
  requiredWeights: encoderWeights,
  activationBytes: (c, dims) => fluxVaeActivationBytes(c, 'encoder', dims),
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'flux_vae_encoder', weights, metadata: { architecture: FLUX_VAE_ENCODER_ID } });
    const image = g.input('image', 'float32', ['B', c.imageChannels, 'H', 'W']); // [B, 3, H, W]
    let h = conv2d(g, image, 'encoder.conv_in', { padding: 1 }); // [B, ch, H, W]
    const widths = levelWidths(c);
    widths.forEach((_, level) => {
      for (let b = 0; b < c.encoderResBlocks; b++) h = resBlock(g, h, `encoder.down.${level}.block.${b}`, c); // [B, ch*mult, H/2^level, W/2^level]
      if (level !== widths.length - 1) h = downsample(g, h, `encoder.down.${level}.downsample`); // [B, ch*mult, H/2^(level+1), ...]
    });
    h = midBlock(g, h, 'encoder.mid', c, widths[widths.length - 1]!); // [B, 512, H/8, W/8]
    const moments = conv2d(g, normSwish(g, h, 'encoder.norm_out', c), 'encoder.conv_out', { padding: 1 }); // [B, 32, H/8, W/8]
    const mean = g.slice(moments, [0], [c.latentChannels], [1], undefined, 'encoder.posterior_mean'); // [B, 16, H/8, W/8]
    g.output(mean, 'latent', 'float32', ['B', c.latentChannels, 'H/8', 'W/8']);
    return g.build();
  },
};
