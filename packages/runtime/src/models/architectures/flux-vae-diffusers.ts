/**
 * Diffusers' AutoencoderKL names -> BFL's FLUX VAE names, rename only (one stored tensor, one canonical name; no
 * bytes are touched). The one shape difference, diffusers' linear to_q/to_k/to_v/to_out.0 [C, C] where BFL has 1x1
 * convs [C, C, 1, 1], is handled in the graph (flux-vae-blocks.ts views the 2-D weight as 4-D).
 *
 * Diffusers numbers the decoder's up blocks from the lowest resolution (up_blocks.0 is BFL's up.3); the FLUX VAE has
 * four levels, so up_blocks.k maps to up.(3 - k).
 */

import type { KeyLayout } from '../architecture.ts';

/** The FLUX VAE's resolution levels (ch_mult [1, 2, 4, 4]); fixes the decoder's up-block numbering. */
const LEVELS = 4;

const RULES: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^(encoder|decoder)\.conv_in\.(weight|bias)$/, (m) => `${m[1]}.conv_in.${m[2]}`],
  [/^(encoder|decoder)\.conv_out\.(weight|bias)$/, (m) => `${m[1]}.conv_out.${m[2]}`],
  [/^(encoder|decoder)\.conv_norm_out\.(weight|bias)$/, (m) => `${m[1]}.norm_out.${m[2]}`],
  [/^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/, (m) => `encoder.down.${m[1]}.block.${m[2]}.${resnetPart(m[3]!)}`],
  [/^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)$/, (m) => `encoder.down.${m[1]}.downsample.conv.${m[2]}`],
  [/^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/, (m) => `decoder.up.${LEVELS - 1 - Number(m[1])}.block.${m[2]}.${resnetPart(m[3]!)}`],
  [/^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)$/, (m) => `decoder.up.${LEVELS - 1 - Number(m[1])}.upsample.conv.${m[2]}`],
  [/^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.+)$/, (m) => `${m[1]}.mid.block_${Number(m[2]) + 1}.${resnetPart(m[3]!)}`],
  [/^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)$/, (m) => `${m[1]}.mid.attn_1.${attentionPart(m[2]!)}`],
];

function resnetPart(rest: string): string {
  return rest.replace(/^conv_shortcut\./, 'nin_shortcut.');
}

/** Current diffusers names (to_q, to_out.0, group_norm) and the older ones (query, proj_attn). */
const ATTENTION_NAMES: Readonly<Record<string, string>> = {
  group_norm: 'norm',
  to_q: 'q',
  to_k: 'k',
  to_v: 'v',
  'to_out.0': 'proj_out',
  query: 'q',
  key: 'k',
  value: 'v',
  proj_attn: 'proj_out',
};

function attentionPart(rest: string): string {
  const dot = rest.lastIndexOf('.');
  const module = rest.slice(0, dot);
  return `${ATTENTION_NAMES[module] ?? module}.${rest.slice(dot + 1)}`;
}

/** Diffusers `vae/` folders (`diffusion_pytorch_model.safetensors`) and single files in diffusers names. */
export const FLUX_VAE_DIFFUSERS_LAYOUT: KeyLayout = {
  id: 'diffusers',
  matches: (names) => names.some((n) => n.startsWith('encoder.down_blocks.') || n.startsWith('decoder.up_blocks.')),
  toCanonical: (name) => {
    for (const [pattern, rename] of RULES) {
      const m = pattern.exec(name);
      if (m) return rename(m);
    }
    return undefined;
  },
};
