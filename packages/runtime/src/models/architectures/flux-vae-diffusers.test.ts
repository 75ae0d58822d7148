import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { writeSafetensors, type SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { writeSparseSafetensors, type SparseTensorSpec } from '../../safetensors/sparse.ts';
import { loadModelGraph, UnknownArchitectureError } from '../loader.ts';
import { decoderWeights, decoderWeightShapes, encoderWeights, encoderWeightShapes, FLUX_VAE_PUBLISHED } from './flux-vae-config.ts';
import { FLUX_VAE_DIFFUSERS_LAYOUT } from './flux-vae-diffusers.ts';
import { defaultArchitectures } from './index.ts';
import { expectedOutput, maxAbsDiff, reference, referenceImage, referenceLatent, tinyCheckpoint } from './flux-vae-test-support.ts';
import { runGraph, tempDir } from './test-support.ts';

const dir = tempDir('flux-vae-diffusers');
const pool = new SessionPool();
afterAll(async () => {
  await pool.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});
const TINY_WIDTHS = reference.config.ch_mult.map((m) => m * reference.config.ch);

/**
 * The FLUX VAE's tensor names as diffusers' AutoencoderKL stores them, written out by hand (not from the mapping) for
 * level widths `widths` (highest resolution first; published: 128, 256, 512, 512).
 */
function diffusersNames(widths: readonly number[] = [128, 256, 512, 512], decoderBlocks = 3): string[] {
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
  const n = widths.length;
  pair('encoder.conv_in');
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) resnet(`encoder.down_blocks.${i}.resnets.${j}`, j === 0 && widths[i] !== (widths[i - 1] ?? widths[0]));
    if (i < n - 1) pair(`encoder.down_blocks.${i}.downsamplers.0.conv`);
  }
  mid('encoder');
  pair('encoder.conv_norm_out');
  pair('encoder.conv_out');
  pair('decoder.conv_in');
  mid('decoder');
  // up_blocks.0 is the lowest resolution.
  for (let k = 0; k < n; k++) {
    const level = n - 1 - k;
    for (let j = 0; j < decoderBlocks; j++) resnet(`decoder.up_blocks.${k}.resnets.${j}`, j === 0 && widths[level] !== (widths[level + 1] ?? widths[n - 1]));
    if (k < n - 1) pair(`decoder.up_blocks.${k}.upsamplers.0.conv`);
  }
  pair('decoder.conv_norm_out');
  pair('decoder.conv_out');
  return names;
}

const ATTENTION_LINEAR = /attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/;

/** Writes a diffusers `vae/` folder (config.json + diffusion_pytorch_model.safetensors) holding `tensors` under diffusers names. */
function writeDiffusersFolder(folder: string, tensors: Record<string, SafetensorsTensorInput>, widths: number[], scaling: [number, number]): void {
  mkdirSync(folder, { recursive: true });
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const name of diffusersNames(widths)) {
    const canonical = FLUX_VAE_DIFFUSERS_LAYOUT.toCanonical(name)!;
    const t = tensors[canonical]!;
    // diffusers stores the attention projections as Linear [C, C]: same bytes as BFL's 1x1 conv [C, C, 1, 1].
    out[name] = ATTENTION_LINEAR.test(name) ? { ...t, shape: t.shape.slice(0, 2) } : t;
  }
  writeSafetensors(join(folder, 'diffusion_pytorch_model.safetensors'), out);
  const config = { _class_name: 'AutoencoderKL', block_out_channels: widths, latent_channels: 16, layers_per_block: 2, scaling_factor: scaling[0], shift_factor: scaling[1], use_quant_conv: false, use_post_quant_conv: false };
  writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
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

  it('a diffusers vae/ folder (linear attention weights) runs and matches the torch reference', async () => {
    const folder = join(dir, 'tiny', 'vae');
    writeDiffusersFolder(folder, tinyCheckpoint('F32'), TINY_WIDTHS, [0.3611, 0.1159]);
    const enc = await loadModelGraph(folder, 'vae_encoder', join(dir, 'graphs'), defaultArchitectures());
    const dec = await loadModelGraph(folder, 'vae_decoder', join(dir, 'graphs'), defaultArchitectures());
    expect([enc.architecture, dec.architecture]).toEqual(['flux-vae-encoder', 'flux-vae-decoder']);
    const { latent } = await runGraph(pool, enc, { image: Tensor.float32(reference.imageShape, referenceImage()) });
    expect(maxAbsDiff(latent!.data as Float32Array, expectedOutput('F32', 'encoder').values)).toBeLessThan(1e-4);
    const { image } = await runGraph(pool, dec, { latent: Tensor.float32(reference.latentShape, referenceLatent()) });
    expect(maxAbsDiff(image!.data as Float32Array, expectedOutput('F32', 'decoder').values)).toBeLessThan(1e-4);
  });

  it('refuses an SD3 VAE folder (same shapes as FLUX) by its config.json', async () => {
    const folder = join(dir, 'sd3', 'vae');
    writeDiffusersFolder(folder, tinyCheckpoint('F32'), TINY_WIDTHS, [1.5305, 0.0609]);
    const load = loadModelGraph(folder, 'vae_decoder', join(dir, 'graphs'), defaultArchitectures());
    await expect(load).rejects.toThrow(UnknownArchitectureError);
    await expect(load).rejects.toThrow(/looks like an SD3 VAE \(its config.json has scaling_factor 1.5305, shift_factor 0.0609/);
  });

  it('full size: a diffusers vae/ folder in BF16 is detected, the published config inferred, all 244 tensors used, sessions created', async () => {
    const folder = join(dir, 'full', 'vae');
    mkdirSync(folder, { recursive: true });
    const canonicalShapes = new Map([...encoderWeightShapes(FLUX_VAE_PUBLISHED), ...decoderWeightShapes(FLUX_VAE_PUBLISHED)]);
    const specs: Record<string, SparseTensorSpec> = {};
    for (const name of diffusersNames()) {
      const shape = canonicalShapes.get(FLUX_VAE_DIFFUSERS_LAYOUT.toCanonical(name)!)!;
      specs[name] = { dtype: 'BF16', shape: ATTENTION_LINEAR.test(name) ? shape.slice(0, 2) : shape };
    }
    expect(Object.keys(specs).length).toBe(244);
    writeSparseSafetensors(join(folder, 'diffusion_pytorch_model.safetensors'), specs);
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ _class_name: 'AutoencoderKL', latent_channels: 16, scaling_factor: 0.3611, shift_factor: 0.1159 }));
    for (const role of ['vae_encoder', 'vae_decoder'] as const) {
      const graph = await loadModelGraph(folder, role, join(dir, 'graphs'), defaultArchitectures());
      expect(graph.config).toEqual(FLUX_VAE_PUBLISHED);
      const session = await pool.acquire(graph, { disablePrepacking: true });
      await pool.release(session);
    }
    rmSync(folder, { recursive: true });
  }, 60_000);
});
