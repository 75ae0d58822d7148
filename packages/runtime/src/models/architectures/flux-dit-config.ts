/**
 * The FLUX DiT's configuration: the published variants (FLUX.1-dev, FLUX.1-schnell, FLUX.1-Kontext-dev), config
 * inference from a header (widths from shapes, depths from key counts), the full list of the weights a config reads
 * (780 for dev and Kontext, 776 for schnell, which has no guidance embedding), and the refusal of files that only
 * look like a DiT (SDXL, SD3, a LoRA, a VAE), with a message saying what the file looks like and what was expected.
 *
 * Names are Black Forest Labs' (`double_blocks.N.img_attn.qkv.weight`...). Other layouts are renamed before any of
 * this runs (flux-dit-names.ts).
 */

import type { SafetensorsHeader } from '../../safetensors/header.ts';
import { countIndexed } from '../architecture.ts';

export type FluxVariant = 'flux-dev' | 'flux-schnell' | 'flux-kontext';

export interface FluxDitConfig {
  /** dev and Kontext have the same tensors (Kontext is told apart by the file's name or metadata); schnell lacks guidance_in. */
  readonly variant: FluxVariant;
  /** Packed latent width of a token (16 channels x 2 x 2 = 64). */
  readonly inChannels: number;
  readonly hidden: number;
  readonly heads: number;
  /** Width of the MLP's hidden layer (4 x hidden). */
  readonly mlpHidden: number;
  readonly doubleBlocks: number;
  readonly singleBlocks: number;
  /** Text token width (T5-XXL: 4096). */
  readonly ctx: number;
  /** Pooled vector width (CLIP-L: 768). */
  readonly vec: number;
  /** Whether `guidance_in` exists (dev, Kontext) or not (schnell). */
  readonly guidanceEmbed: boolean;
  /** RoPE widths per id axis, summing to the head width ([16, 56, 56] for head width 128). */
  readonly axesDim: readonly number[];
  readonly theta: number;
}

/** The published configurations (black-forest-labs/flux, util.py). */
export const FLUX_CONFIGS: Readonly<Record<FluxVariant, FluxDitConfig>> = {
  'flux-dev': {
    variant: 'flux-dev', inChannels: 64, hidden: 3072, heads: 24, mlpHidden: 12288, doubleBlocks: 19, singleBlocks: 38,
    ctx: 4096, vec: 768, guidanceEmbed: true, axesDim: [16, 56, 56], theta: 10000,
  },
  'flux-schnell': {
    variant: 'flux-schnell', inChannels: 64, hidden: 3072, heads: 24, mlpHidden: 12288, doubleBlocks: 19, singleBlocks: 38,
    ctx: 4096, vec: 768, guidanceEmbed: false, axesDim: [16, 56, 56], theta: 10000,
  },
  'flux-kontext': {
    variant: 'flux-kontext', inChannels: 64, hidden: 3072, heads: 24, mlpHidden: 12288, doubleBlocks: 19, singleBlocks: 38,
    ctx: 4096, vec: 768, guidanceEmbed: true, axesDim: [16, 56, 56], theta: 10000,
  },
};

/** Epsilon of every DiT norm (LayerNorms without affine and the QK RMSNorms). */
export const FLUX_NORM_EPS = 1e-6;
/** Width of the sinusoidal timestep and guidance embeddings. */
export const FLUX_TIME_DIM = 256;

/**
 * RoPE axes for a head width: FLUX splits 128 into [16, 56, 56], i.e. [D/8, 7D/16, 7D/16]; tiny test configs use the
 * same proportions (so D must be a multiple of 32).
 */
export function fluxAxesDim(headDim: number): number[] {
  const axes = [headDim / 8, (7 * headDim) / 16, (7 * headDim) / 16];
  if (!axes.every((a) => Number.isInteger(a) && a % 2 === 0)) {
    throw new Error(`head width ${headDim} cannot be split into FLUX's RoPE axes [D/8, 7D/16, 7D/16] of even widths`);
  }
  return axes;
}

const DOUBLE_STREAM_PARTS = ['img', 'txt'] as const;

/** The weights of one double block (24). */
function doubleBlockWeights(i: number): string[] {
  const p = `double_blocks.${i}`;
  return DOUBLE_STREAM_PARTS.flatMap((s) => [
    `${p}.${s}_mod.lin.weight`, `${p}.${s}_mod.lin.bias`,
    `${p}.${s}_attn.qkv.weight`, `${p}.${s}_attn.qkv.bias`,
    `${p}.${s}_attn.norm.query_norm.scale`, `${p}.${s}_attn.norm.key_norm.scale`,
    `${p}.${s}_attn.proj.weight`, `${p}.${s}_attn.proj.bias`,
    `${p}.${s}_mlp.0.weight`, `${p}.${s}_mlp.0.bias`,
    `${p}.${s}_mlp.2.weight`, `${p}.${s}_mlp.2.bias`,
  ]);
}

/** The weights of one single block (8). */
function singleBlockWeights(i: number): string[] {
  const p = `single_blocks.${i}`;
  return [
    `${p}.linear1.weight`, `${p}.linear1.bias`, `${p}.linear2.weight`, `${p}.linear2.bias`,
    `${p}.norm.query_norm.scale`, `${p}.norm.key_norm.scale`, `${p}.modulation.lin.weight`, `${p}.modulation.lin.bias`,
  ];
}

const pair = (prefix: string) => [`${prefix}.weight`, `${prefix}.bias`];

/** Every weight the graph reads: 780 for the published dev/Kontext config, 776 for schnell. */
export function fluxRequiredWeights(c: FluxDitConfig): string[] {
  return [
    ...pair('img_in'),
    ...pair('txt_in'),
    ...pair('time_in.in_layer'), ...pair('time_in.out_layer'),
    ...pair('vector_in.in_layer'), ...pair('vector_in.out_layer'),
    ...(c.guidanceEmbed ? [...pair('guidance_in.in_layer'), ...pair('guidance_in.out_layer')] : []),
    ...Array.from({ length: c.doubleBlocks }, (_, i) => doubleBlockWeights(i)).flat(),
    ...Array.from({ length: c.singleBlocks }, (_, i) => singleBlockWeights(i)).flat(),
    ...pair('final_layer.linear'), ...pair('final_layer.adaLN_modulation.1'),
  ];
}

/**
 * Tensors a FLUX file may hold that the graph deliberately does not read: ComfyUI's scaled-fp8 bookkeeping
 * (`scaled_fp8`, `<module>.scale_weight`, `<module>.scale_input`; the weight source applies scale_weight).
 */
export function fluxIgnoredWeights(names: Iterable<string>): string[] {
  return [...names].filter((n) => n === 'scaled_fp8' || n.endsWith('.scale_weight') || n.endsWith('.scale_input'));
}

/** The key that marks a BFL-named FLUX transformer. */
const SIGNATURE = ['img_in.weight', 'txt_in.weight', 'double_blocks.0.img_attn.qkv.weight', 'final_layer.linear.weight'];

/** What a file that is not a FLUX DiT looks like, from its key names; undefined when it is nothing we recognise. */
export function describeLookalike(names: readonly string[]): string | undefined {
  const some = (re: RegExp) => names.some((n) => re.test(n));
  const count = (re: RegExp) => names.filter((n) => re.test(n)).length;
  if (some(/(^|\.)(lora_[AB]|lora_up|lora_down)\.weight$|\.processor\.(qkv|proj)_lora\d*\.(up|down)\.weight$|^lora_unet_/)) {
    const pairs = count(/(lora_down|lora_A|\.down)\.weight$/);
    return `a LoRA (${pairs} low-rank pairs), not a model: load it with LoraLoaderModelOnly on top of a FLUX model`;
  }
  if (some(/(^|\.)joint_blocks\.\d+\.(x|context)_block\./)) return 'a Stable Diffusion 3 MM-DiT (joint_blocks.N.x_block...)';
  if (some(/(^|\.)input_blocks\.\d+\./) && some(/(^|\.)middle_block\./)) {
    return some(/label_emb\./) || some(/conditioner\.embedders\.1\./) ? 'an SDXL UNet (input_blocks/middle_block/label_emb)' : 'a Stable Diffusion UNet (input_blocks/middle_block)';
  }
  if (some(/^(down_blocks|up_blocks)\.\d+\.(resnets|attentions)\./)) return 'a diffusers UNet (down_blocks/up_blocks), not a FLUX transformer';
  if (some(/^(encoder|decoder)\.(down|up|mid)\b/)) return 'a VAE (encoder/decoder), not a diffusion transformer';
  if (some(/^encoder\.block\.\d+\.layer\./) || some(/^shared\.weight$/)) return 'a T5 text encoder';
  if (some(/text_model\.encoder\.layers\./)) return 'a CLIP text encoder';
  if (some(/vision_model\.encoder\.layers\./)) return 'a vision encoder (CLIP/SigLIP)';
  return undefined;
}

/** True for a BFL-named FLUX transformer (other layouts are renamed to BFL names before this runs). */
export function detectFluxDit(h: SafetensorsHeader): boolean {
  return SIGNATURE.every((k) => h.tensors.has(k));
}

/**
 * For the loader's refusal of a file given as a diffusion model that is recognisably something else (a LoRA, SDXL,
 * SD3, a VAE): what it looks like and what was expected.
 */
export function fluxLookalike(h: SafetensorsHeader): string | undefined {
  const lookalike = describeLookalike([...h.tensors.keys()]);
  if (!lookalike) return undefined;
  return (
    `this looks like ${lookalike}; a diffusion model here must be a FLUX.1 transformer (dev, schnell or Kontext) with ` +
    `BFL names such as 'double_blocks.0.img_attn.qkv.weight' (or the diffusers/ComfyUI layouts of the same weights)`
  );
}

function shape(h: SafetensorsHeader, key: string, rank: number): number[] {
  const t = h.tensors.get(key);
  if (!t) throw new Error(`missing weight '${key}'`);
  if (t.shape.length !== rank) throw new Error(`'${key}' has shape [${t.shape.join(', ')}], expected rank ${rank}`);
  return [...t.shape];
}

/** Kontext has dev's tensors; its files say so only in their name or metadata. */
function variantOf(h: SafetensorsHeader, guidanceEmbed: boolean): FluxVariant {
  if (!guidanceEmbed) return 'flux-schnell';
  const hint = `${h.path.split('/').pop() ?? ''} ${Object.values(h.metadata).join(' ')}`.toLowerCase();
  return hint.includes('kontext') ? 'flux-kontext' : 'flux-dev';
}

/** Reads the config from shapes and key counts; throws naming the inconsistent tensor. */
export function inferFluxDitConfig(h: SafetensorsHeader): FluxDitConfig {
  const [hidden, inChannels] = shape(h, 'img_in.weight', 2) as [number, number];
  const [, ctx] = shape(h, 'txt_in.weight', 2) as [number, number];
  const [, vec] = shape(h, 'vector_in.in_layer.weight', 2) as [number, number];
  const [headDim] = shape(h, 'double_blocks.0.img_attn.norm.query_norm.scale', 1) as [number];
  const [mlpHidden] = shape(h, 'double_blocks.0.img_mlp.0.weight', 2) as [number, number];
  const [timeHidden, timeDim] = shape(h, 'time_in.in_layer.weight', 2) as [number, number];
  if (hidden % headDim !== 0) throw new Error(`hidden width ${hidden} (img_in.weight) is not a multiple of the head width ${headDim} (query_norm.scale)`);
  if (timeDim !== FLUX_TIME_DIM || timeHidden !== hidden) {
    throw new Error(`time_in.in_layer.weight is [${timeHidden}, ${timeDim}], expected [${hidden}, ${FLUX_TIME_DIM}]`);
  }
  const [qkvRows] = shape(h, 'double_blocks.0.img_attn.qkv.weight', 2) as [number, number];
  if (qkvRows !== 3 * hidden) throw new Error(`double_blocks.0.img_attn.qkv.weight has ${qkvRows} rows, expected 3 x ${hidden}`);
  const [outChannels] = shape(h, 'final_layer.linear.weight', 2) as [number, number];
  if (outChannels !== inChannels) throw new Error(`final_layer.linear.weight gives ${outChannels} channels, img_in reads ${inChannels}`);
  const singleBlocks = countIndexed(h, 'single_blocks.');
  if (singleBlocks > 0) {
    const [linear1Rows] = shape(h, 'single_blocks.0.linear1.weight', 2) as [number, number];
    if (linear1Rows !== 3 * hidden + mlpHidden) {
      throw new Error(`single_blocks.0.linear1.weight has ${linear1Rows} rows, expected 3 x ${hidden} + ${mlpHidden}`);
    }
  }
  const guidanceEmbed = h.tensors.has('guidance_in.in_layer.weight');
  return {
    variant: variantOf(h, guidanceEmbed),
    inChannels,
    hidden,
    heads: hidden / headDim,
    mlpHidden,
    doubleBlocks: countIndexed(h, 'double_blocks.'),
    singleBlocks,
    ctx,
    vec,
    guidanceEmbed,
    axesDim: fluxAxesDim(headDim),
    theta: 10000,
  };
}

/**
 * Peak working memory of one DiT run beyond the mapped weights, for img [B, N, 64] (`inputDims`), in bytes. The other
 * token counts come from `otherDims` (`ref_img` [B, R, 64], `txt` [B, T, ctx], `style` [B, S, ...]) when given; each
 * one not given is USO's largest usual mode: one reference of N/4 tokens (512² beside 1024²), 512 text tokens and two
 * style images (2 x 192). Counted in float32: the stream and its
 * residual copies, a single block's fused linear1 output (3C + mlp), the activated MLP, linear2's input (C + mlp),
 * fused attention's q/k/v and output (flash attention: no [L, L] scores), plus the largest weight converted from its
 * stored dtype for one Gemm (a single block's linear1 in float32).
 */
export function fluxActivationBytes(c: FluxDitConfig, inputDims: readonly number[], otherDims: Readonly<Record<string, readonly number[]>> = {}): number {
  const [batch = 1, n = 4096] = inputDims;
  const tokensOf = (name: string, assumed: number) => otherDims[name]?.[1] ?? assumed;
  const tokens = n + tokensOf('ref_img', Math.ceil(n / 4)) + tokensOf('txt', 512) + tokensOf('style', 2 * 192);
  const perToken = 4 * (6 * c.hidden + (3 * c.hidden + c.mlpHidden) + c.mlpHidden + (c.hidden + c.mlpHidden) + 4 * c.hidden);
  const largestWeight = 4 * (3 * c.hidden + c.mlpHidden) * c.hidden;
  return batch * tokens * perToken + largestWeight;
}
