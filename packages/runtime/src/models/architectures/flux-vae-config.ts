/**
 * The FLUX autoencoder's config, read from a checkpoint's shapes, and its weight names (Black Forest Labs' names:
 * `encoder.down.N.block.M.conv1.weight`, `decoder.up.N.upsample.conv.weight`...). Shared by the encoder and the decoder
 * architectures. Lookalikes (SD 1.x/SDXL VAEs with 4 latent channels, SD checkpoints) are not detected, and
 * `fluxVaeLookalike` says what such a file looks like for the loader's refusal.
 *
 * Published FLUX.1 config: ch 128, ch_mult [1, 2, 4, 4], 2 res blocks per encoder level (the decoder has one more),
 * 16 latent channels, GroupNorm with 32 groups and eps 1e-6, one single-head attention block in each mid block.
 */

import type { SafetensorsHeader } from '../../safetensors/header.ts';
import { countIndexed } from '../architecture.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withKeyPrefix } from '../../safetensors/keys.ts';

export interface FluxVaeConfig {
  /** Image channels in (encoder) and out (decoder): 3. */
  readonly imageChannels: number;
  /** Base width `ch` (128). */
  readonly baseChannels: number;
  /** Width multiplier per resolution level, highest resolution first ([1, 2, 4, 4]). */
  readonly channelMultipliers: readonly number[];
  /** Res blocks per encoder level (2); the decoder has one more per level. */
  readonly encoderResBlocks: number;
  /** Res blocks per decoder level (3). */
  readonly decoderResBlocks: number;
  /** Latent channels (16). */
  readonly latentChannels: number;
  /** GroupNorm groups (32; not stored in the weights, fixed by the architecture). */
  readonly groups: number;
  /** GroupNorm epsilon (1e-6). */
  readonly eps: number;
}

/** FLUX.1's autoencoder as published (ae.safetensors). */
export const FLUX_VAE_PUBLISHED: FluxVaeConfig = {
  imageChannels: 3,
  baseChannels: 128,
  channelMultipliers: [1, 2, 4, 4],
  encoderResBlocks: 2,
  decoderResBlocks: 3,
  latentChannels: 16,
  groups: 32,
  eps: 1e-6,
};

/** Where the VAE may sit in a file: ComfyUI's combined checkpoints put it under `vae.`; BFL's ae.safetensors at the top. */
export const FLUX_VAE_PREFIXES = ['vae.', ''] as const;

/** Width of each encoder level's blocks; the decoder runs the same widths in reverse. */
export function levelWidths(c: FluxVaeConfig): number[] {
  return c.channelMultipliers.map((m) => m * c.baseChannels);
}

/** Weight name -> shape, in the order the graph reads them. */
export type WeightShapes = Map<string, readonly number[]>;

function conv(shapes: WeightShapes, prefix: string, inWidth: number, outWidth: number, kernel: number): void {
  shapes.set(`${prefix}.weight`, [outWidth, inWidth, kernel, kernel]);
  shapes.set(`${prefix}.bias`, [outWidth]);
}

function norm(shapes: WeightShapes, prefix: string, width: number): void {
  shapes.set(`${prefix}.weight`, [width]);
  shapes.set(`${prefix}.bias`, [width]);
}

/** One res block: `nin_shortcut` only where the width changes. */
function resBlockShapes(shapes: WeightShapes, prefix: string, inWidth: number, outWidth: number): void {
  norm(shapes, `${prefix}.norm1`, inWidth);
  conv(shapes, `${prefix}.conv1`, inWidth, outWidth, 3);
  norm(shapes, `${prefix}.norm2`, outWidth);
  conv(shapes, `${prefix}.conv2`, outWidth, outWidth, 3);
  if (inWidth !== outWidth) conv(shapes, `${prefix}.nin_shortcut`, inWidth, outWidth, 1);
}

function midShapes(shapes: WeightShapes, part: 'encoder' | 'decoder', width: number): void {
  resBlockShapes(shapes, `${part}.mid.block_1`, width, width);
  norm(shapes, `${part}.mid.attn_1.norm`, width);
  for (const n of ['q', 'k', 'v', 'proj_out']) conv(shapes, `${part}.mid.attn_1.${n}`, width, width, 1);
  resBlockShapes(shapes, `${part}.mid.block_2`, width, width);
}

/** The encoder's weights and BFL shapes (106 for FLUX.1). */
export function encoderWeightShapes(c: FluxVaeConfig): WeightShapes {
  const shapes: WeightShapes = new Map();
  const widths = levelWidths(c);
  conv(shapes, 'encoder.conv_in', c.imageChannels, c.baseChannels, 3);
  let inWidth = c.baseChannels;
  widths.forEach((width, level) => {
    for (let b = 0; b < c.encoderResBlocks; b++) {
      resBlockShapes(shapes, `encoder.down.${level}.block.${b}`, inWidth, width);
      inWidth = width;
    }
    if (level !== widths.length - 1) conv(shapes, `encoder.down.${level}.downsample.conv`, width, width, 3);
  });
  midShapes(shapes, 'encoder', inWidth);
  norm(shapes, 'encoder.norm_out', inWidth);
  conv(shapes, 'encoder.conv_out', inWidth, 2 * c.latentChannels, 3);
  return shapes;
}

/** The decoder's weights and BFL shapes (138 for FLUX.1). */
export function decoderWeightShapes(c: FluxVaeConfig): WeightShapes {
  const shapes: WeightShapes = new Map();
  const widths = levelWidths(c);
  let inWidth = widths[widths.length - 1]!;
  conv(shapes, 'decoder.conv_in', c.latentChannels, inWidth, 3);
  midShapes(shapes, 'decoder', inWidth);
  for (let level = widths.length - 1; level >= 0; level--) {
    for (let b = 0; b < c.decoderResBlocks; b++) {
      resBlockShapes(shapes, `decoder.up.${level}.block.${b}`, inWidth, widths[level]!);
      inWidth = widths[level]!;
    }
    if (level !== 0) conv(shapes, `decoder.up.${level}.upsample.conv`, inWidth, inWidth, 3);
  }
  norm(shapes, 'decoder.norm_out', inWidth);
  conv(shapes, 'decoder.conv_out', inWidth, c.imageChannels, 3);
  return shapes;
}

/** Every weight the encoder reads. */
export function encoderWeights(c: FluxVaeConfig): string[] {
  return [...encoderWeightShapes(c).keys()];
}

/** Every weight the decoder reads. */
export function decoderWeights(c: FluxVaeConfig): string[] {
  return [...decoderWeightShapes(c).keys()];
}

function shape(h: SafetensorsHeader, key: string): readonly number[] | undefined {
  return h.tensors.get(key)?.shape;
}

function requireShape(h: SafetensorsHeader, key: string, rank: number): readonly number[] {
  const s = shape(h, key);
  if (!s) throw new Error(`missing '${key}'`);
  if (s.length !== rank) throw new Error(`'${key}' has shape [${s.join(', ')}], expected rank ${rank}`);
  return s;
}

/** True when the (prefix-stripped) header holds the FLUX VAE's `part` in BFL names. */
export function detectFluxVae(h: SafetensorsHeader, part: 'encoder' | 'decoder'): boolean {
  if (describeLookalike(h)) return false;
  const probe = part === 'encoder' ? 'encoder.down.0.block.0.conv1.weight' : 'decoder.up.0.block.0.conv1.weight';
  const convIn = shape(h, `${part}.conv_in.weight`);
  return shape(h, probe)?.length === 4 && convIn?.length === 4 && convIn[2] === 3 && h.tensors.has(`${part}.mid.attn_1.q.weight`);
}

/**
 * For a file no VAE architecture accepted: what autoencoder family it looks like and what was expected (the loader's
 * refusal message), or undefined when it does not look like an autoencoder at all. Looks at the top level and under
 * ComfyUI's `vae.` prefix.
 */
export function fluxVaeLookalike(h: SafetensorsHeader): string | undefined {
  const views = [h, withKeyPrefix(h, 'vae.')].filter((v) => v.tensors.size > 0);
  for (const view of views) {
    const looks = describeLookalike(view);
    if (looks) return `it looks like ${looks}; expected the FLUX autoencoder (16 latent channels, e.g. BFL ae.safetensors)`;
  }
  return undefined;
}

/** What a non-FLUX autoencoder in LDM names looks like, or undefined when nothing points elsewhere. */
function describeLookalike(h: SafetensorsHeader): string | undefined {
  const encOut = shape(h, 'encoder.conv_out.weight');
  const decIn = shape(h, 'decoder.conv_in.weight');
  const latent = encOut?.length === 4 ? encOut[0]! / 2 : decIn?.length === 4 ? decIn[1] : undefined;
  if (latent === 4) {
    const where = encOut ? `encoder.conv_out.weight [${encOut.join(', ')}]` : `decoder.conv_in.weight [${decIn!.join(', ')}]`;
    return `an SD 1.x / SDXL VAE (4 latent channels: ${where})`;
  }
  if (latent !== undefined && latent !== 16) return `an autoencoder with ${latent} latent channels`;
  if (h.tensors.has('quant_conv.weight') || h.tensors.has('post_quant_conv.weight')) {
    return 'an SD-family VAE (it has quant_conv/post_quant_conv, which the FLUX VAE does not)';
  }
  const fromConfig = diffusersConfigLookalike(h.path);
  if (fromConfig) return fromConfig;
  const arch = h.metadata['modelspec.architecture'];
  if (arch && /stable-diffusion|sd3/i.test(arch)) return `a Stable Diffusion VAE (modelspec.architecture '${arch}')`;
  for (const key of h.tensors.keys()) {
    if (key.startsWith('first_stage_model.')) return "an SD-family checkpoint (its VAE sits under 'first_stage_model.')";
  }
  return undefined;
}

/** Reads the config from shapes; `part` says which half must be present (the other may be absent). */
export function inferFluxVaeConfig(h: SafetensorsHeader, part: 'encoder' | 'decoder'): FluxVaeConfig {
  if (part === 'encoder') {
    const [base, imageChannels] = requireShape(h, 'encoder.conv_in.weight', 4) as [number, number];
    const levels = countIndexed(h, 'encoder.down.');
    const channelMultipliers = Array.from({ length: levels }, (_, l) => {
      const out = requireShape(h, `encoder.down.${l}.block.0.conv1.weight`, 4)[0]!;
      if (out % base !== 0) throw new Error(`encoder.down.${l} width ${out} is not a multiple of ch ${base}`);
      return out / base;
    });
    const latent2 = requireShape(h, 'encoder.conv_out.weight', 4)[0]!;
    return withDecoderDepth(h, {
      ...FLUX_VAE_PUBLISHED,
      imageChannels,
      baseChannels: base,
      channelMultipliers,
      encoderResBlocks: countIndexed(h, 'encoder.down.0.block.'),
      latentChannels: latent2 / 2,
    });
  }
  const [top, latentChannels] = requireShape(h, 'decoder.conv_in.weight', 4) as [number, number];
  const levels = countIndexed(h, 'decoder.up.');
  const widths = Array.from({ length: levels }, (_, l) => requireShape(h, `decoder.up.${l}.block.0.conv2.weight`, 4)[0]!);
  const base = widths[0]!;
  if (widths[levels - 1] !== top) throw new Error(`decoder.conv_in width ${top} differs from decoder.up.${levels - 1} width ${widths[levels - 1]}`);
  const imageChannels = requireShape(h, 'decoder.conv_out.weight', 4)[0]!;
  const config = {
    ...FLUX_VAE_PUBLISHED,
    imageChannels,
    baseChannels: base,
    channelMultipliers: widths.map((w) => w / base),
    decoderResBlocks: countIndexed(h, 'decoder.up.0.block.'),
    latentChannels,
  };
  // A decoder-only file keeps the published encoder depth; a file with both halves reads it.
  return h.tensors.has('encoder.down.0.block.0.conv1.weight') ? { ...config, encoderResBlocks: countIndexed(h, 'encoder.down.0.block.') } : config;
}

function withDecoderDepth(h: SafetensorsHeader, c: FluxVaeConfig): FluxVaeConfig {
  return h.tensors.has('decoder.up.0.block.0.conv1.weight') ? { ...c, decoderResBlocks: countIndexed(h, 'decoder.up.0.block.') } : c;
}

/**
 * An SD3 VAE has the FLUX VAE's exact shapes (16 latent channels, same widths), so its weights alone cannot tell them
 * apart; a diffusers folder's config.json can (FLUX: scaling_factor 0.3611, shift_factor 0.1159; SD3: 1.5305, 0.0609).
 */
function diffusersConfigLookalike(weightFile: string): string | undefined {
  const configPath = join(dirname(weightFile), 'config.json');
  if (!existsSync(configPath)) return undefined;
  let config: { _class_name?: unknown; scaling_factor?: unknown; shift_factor?: unknown };
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as typeof config;
  } catch {
    return undefined;
  }
  if (config._class_name !== 'AutoencoderKL' || typeof config.scaling_factor !== 'number') return undefined;
  if (Math.abs(config.scaling_factor - 0.3611) < 1e-4) return undefined;
  const sd3 = Math.abs(config.scaling_factor - 1.5305) < 1e-4;
  return `${sd3 ? 'an SD3 VAE' : 'a non-FLUX VAE'} (its config.json has scaling_factor ${config.scaling_factor}, shift_factor ${String(config.shift_factor ?? 'none')}; FLUX uses 0.3611 and 0.1159)`;
}
