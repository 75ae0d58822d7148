import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { loadModelGraph, MissingWeightsError, UnknownArchitectureError } from '../loader.ts';
import { defaultArchitectures } from './index.ts';
import { FLUX_CONFIGS, fluxActivationBytes, fluxIgnoredWeights, fluxRequiredWeights } from './flux-dit-config.ts';
import { TINY_FLUX, tinyFluxFile } from './flux-dit-cases.ts';
import { tempDir } from './test-support.ts';

const dir = tempDir('flux-dit-config');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = () => tinyFluxFile(TINY_FLUX, 'F32').tensors;
const zero = (shape: number[]): SafetensorsTensorInput => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

function load(name: string, tensors: Record<string, SafetensorsTensorInput>, metadata: Record<string, string> = {}) {
  const file = join(dir, `${name}.safetensors`);
  writeSafetensors(file, tensors, metadata);
  return loadModelGraph(file, 'dit', join(dir, 'graphs'), defaultArchitectures());
}

describe('flux-dit config', () => {
  it('needs all 780 tensors of FLUX.1-dev and Kontext, 776 of schnell (no guidance_in)', () => {
    const dev = fluxRequiredWeights(FLUX_CONFIGS['flux-dev']);
    expect(dev.length).toBe(780);
    expect(new Set(dev).size).toBe(780);
    expect(fluxRequiredWeights(FLUX_CONFIGS['flux-kontext'])).toEqual(dev);
    const schnell = fluxRequiredWeights(FLUX_CONFIGS['flux-schnell']);
    expect(schnell.length).toBe(776);
    expect(dev.filter((k) => !schnell.includes(k))).toEqual([
      'guidance_in.in_layer.weight', 'guidance_in.in_layer.bias', 'guidance_in.out_layer.weight', 'guidance_in.out_layer.bias',
    ]);
  });

  it('infers the config from shapes and counts, schnell without guidance, Kontext from the file name', async () => {
    const dev = await load('tiny-dev', tiny());
    expect(dev.config).toEqual({ ...TINY_FLUX, variant: 'flux-dev' });
    const schnellTensors = Object.fromEntries(Object.entries(tiny()).filter(([k]) => !k.startsWith('guidance_in.')));
    const schnell = await load('tiny-schnell', schnellTensors);
    expect(schnell.config).toMatchObject({ variant: 'flux-schnell', guidanceEmbed: false });
    const kontext = await load('flux1-kontext-dev-tiny', tiny());
    expect(kontext.config).toMatchObject({ variant: 'flux-kontext', guidanceEmbed: true });
  });

  it('finds the model under ComfyUI checkpoint prefixes', async () => {
    const prefixed = Object.fromEntries(Object.entries(tiny()).map(([k, v]) => [`model.diffusion_model.${k}`, v]));
    const graph = await load('tiny-checkpoint', { ...prefixed, 'vae.decoder.conv_in.weight': zero([1]) });
    expect(graph.architecture).toBe('flux-dit');
    expect(graph.keyPrefix).toBe('model.diffusion_model.');
  });

  it('refuses a checkpoint with a weight missing, naming it', async () => {
    const tensors = tiny();
    delete tensors['single_blocks.1.norm.key_norm.scale'];
    await expect(load('tiny-missing', tensors)).rejects.toThrow(MissingWeightsError);
    await expect(load('tiny-missing', tensors)).rejects.toThrow(/single_blocks\.1\.norm\.key_norm\.scale/);
  });

  it.each([
    ['SDXL', { 'model.diffusion_model.input_blocks.0.0.weight': zero([2]), 'model.diffusion_model.middle_block.0.in_layers.0.weight': zero([2]), 'model.diffusion_model.label_emb.0.0.weight': zero([2]) }, /SDXL UNet/],
    ['SD3', { 'model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight': zero([2]), 'model.diffusion_model.x_embedder.proj.weight': zero([2]) }, /Stable Diffusion 3/],
    ['USO LoRA', { 'double_blocks.0.processor.qkv_lora1.down.weight': zero([2, 2]), 'double_blocks.0.processor.qkv_lora1.up.weight': zero([2, 2]) }, /a LoRA \(1 low-rank pairs\)/],
    ['Flux LoRA', { 'diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight': zero([2, 2]), 'diffusion_model.double_blocks.0.img_attn.qkv.lora_B.weight': zero([2, 2]) }, /a LoRA/],
    ['VAE', { 'encoder.down.0.block.0.conv1.weight': zero([2]), 'decoder.up.0.block.0.conv1.weight': zero([2]) }, /a VAE/],
  ] as const)('refuses %s given as a diffusion model, saying what it looks like and what was expected', async (name, tensors, what) => {
    const attempt = load(`lookalike-${name.replace(/ /g, '_')}`, { ...tensors });
    await expect(attempt).rejects.toThrow(UnknownArchitectureError);
    await expect(attempt).rejects.toThrow(what);
    await expect(attempt).rejects.toThrow(/must be a FLUX\.1 transformer/);
  });

  it('lists ComfyUI scaled-fp8 bookkeeping as deliberately ignored', () => {
    expect(fluxIgnoredWeights(['scaled_fp8', 'img_in.weight', 'img_in.scale_weight', 'img_in.scale_input'])).toEqual([
      'scaled_fp8', 'img_in.scale_weight', 'img_in.scale_input',
    ]);
  });

  it('estimates a run\'s working memory at 1024x1024 (no [L, L] scores), linear in the batch', () => {
    const one = fluxActivationBytes(FLUX_CONFIGS['flux-dev'], [1, 4096, 64]);
    expect(one / 2 ** 30).toBeGreaterThan(1.5);
    expect(one / 2 ** 30).toBeLessThan(3);
    const largestWeight = 4 * (3 * 3072 + 12288) * 3072;
    expect(fluxActivationBytes(FLUX_CONFIGS['flux-dev'], [2, 4096, 64]) - largestWeight).toBeCloseTo(2 * (one - largestWeight), -3);
  });

  it('counts the reference, text and style tokens it is given instead of the assumed ones', () => {
    const c = FLUX_CONFIGS['flux-dev'];
    const largestWeight = 4 * (3 * 3072 + 12288) * 3072;
    const perToken = fluxActivationBytes(c, [1, 1, 64], { ref_img: [1, 0, 64], txt: [1, 0, 4096], style: [1, 0, 3072] }) - largestWeight;
    // Given: exactly those tokens. Not given: one reference of N/4, 512 text and 384 style tokens.
    expect(fluxActivationBytes(c, [1, 4096, 64], { ref_img: [1, 1024, 64], txt: [1, 300, 4096], style: [1, 0, 3072] })).toBe(largestWeight + (4096 + 1024 + 300) * perToken);
    expect(fluxActivationBytes(c, [1, 4096, 64])).toBe(largestWeight + (4096 + 1024 + 512 + 384) * perToken);
  });
});
