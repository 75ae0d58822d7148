import { describe, it, expect } from 'vitest';
import { decoderWeights, encoderWeights, FLUX_VAE_PUBLISHED } from './flux-vae-config.ts';
import { FLUX_VAE_DIFFUSERS_LAYOUT } from './flux-vae-diffusers.ts';

/** The FLUX VAE's tensor names as diffusers' AutoencoderKL stores them (written out by hand, not from the mapping). */
function diffusersNames(): string[] {
  const names: string[] = [];
  const pair = (p: string) => names.push(`${p}.weight`, `${p}.bias`);
  const resnet = (p: string, shortcut: boolean) => {
    for (const m of ['norm1', 'conv1', 'norm2', 'conv2', ...(shortcut ? ['conv_shortcut'] : [])]) pair(`${p}.${m}`);
  };
  const mid = (part: string) => {
    resnet(`${part}.mid_block.resnets.0`, false);
    for (const m of ['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0']) pair(`${part}.mid_block.attentions.0.${m}`);
    resnet(`${part}.mid_block.resnets.1`, false);
  };
  pair('encoder.conv_in');
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) resnet(`encoder.down_blocks.${i}.resnets.${j}`, j === 0 && (i === 1 || i === 2));
    if (i < 3) pair(`encoder.down_blocks.${i}.downsamplers.0.conv`);
  }
  mid('encoder');
  pair('encoder.conv_norm_out');
  pair('encoder.conv_out');
  pair('decoder.conv_in');
  mid('decoder');
  // up_blocks.0 is the lowest resolution (512 wide); widths 512, 512, 256, 128.
  for (let k = 0; k < 4; k++) {
    for (let j = 0; j < 3; j++) resnet(`decoder.up_blocks.${k}.resnets.${j}`, j === 0 && (k === 2 || k === 3));
    if (k < 3) pair(`decoder.up_blocks.${k}.upsamplers.0.conv`);
  }
  pair('decoder.conv_norm_out');
  pair('decoder.conv_out');
  return names;
}

describe('FLUX VAE diffusers names', () => {
  it('maps all 244 diffusers tensors one to one onto the BFL names the graph reads', () => {
    const names = diffusersNames();
    expect(names.length).toBe(244);
    expect(FLUX_VAE_DIFFUSERS_LAYOUT.matches(names)).toBe(true);
    const mapped = names.map((n) => FLUX_VAE_DIFFUSERS_LAYOUT.toCanonical(n));
    expect(mapped.filter((m) => m === undefined)).toEqual([]);
    expect(new Set(mapped).size).toBe(244);
    expect(new Set(mapped)).toEqual(new Set([...encoderWeights(FLUX_VAE_PUBLISHED), ...decoderWeights(FLUX_VAE_PUBLISHED)]));
  });

  it('renames the pieces that differ: reversed up blocks, shortcuts, attention, norm_out', () => {
    const c = FLUX_VAE_DIFFUSERS_LAYOUT.toCanonical;
    expect(c('decoder.up_blocks.0.resnets.2.conv1.weight')).toBe('decoder.up.3.block.2.conv1.weight');
    expect(c('decoder.up_blocks.2.upsamplers.0.conv.bias')).toBe('decoder.up.1.upsample.conv.bias');
    expect(c('decoder.up_blocks.3.resnets.0.conv_shortcut.weight')).toBe('decoder.up.0.block.0.nin_shortcut.weight');
    expect(c('encoder.down_blocks.2.downsamplers.0.conv.weight')).toBe('encoder.down.2.downsample.conv.weight');
    expect(c('encoder.mid_block.attentions.0.to_out.0.weight')).toBe('encoder.mid.attn_1.proj_out.weight');
    expect(c('decoder.mid_block.attentions.0.query.bias')).toBe('decoder.mid.attn_1.q.bias');
    expect(c('decoder.mid_block.resnets.1.norm2.weight')).toBe('decoder.mid.block_2.norm2.weight');
    expect(c('encoder.conv_norm_out.weight')).toBe('encoder.norm_out.weight');
    expect(c('quant_conv.weight')).toBeUndefined();
  });

  it('does not claim BFL-named files', () => {
    expect(FLUX_VAE_DIFFUSERS_LAYOUT.matches(encoderWeights(FLUX_VAE_PUBLISHED))).toBe(false);
  });
});
