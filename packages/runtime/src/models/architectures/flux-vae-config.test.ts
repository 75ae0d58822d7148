import { describe, it, expect, afterAll } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SessionPool } from '../../session/session-pool.ts';
import type { SafetensorsDType } from '../../safetensors/dtypes.ts';
import { loadModelGraph, UnknownArchitectureError } from '../loader.ts';
import { decoderWeightShapes, decoderWeights, encoderWeightShapes, encoderWeights, FLUX_VAE_PUBLISHED } from './flux-vae-config.ts';
import { defaultArchitectures } from './index.ts';
import { writeSparseSafetensors, type SparseTensorSpec as SparseTensor } from '../../safetensors/sparse.ts';
import { tempDir } from './test-support.ts';

const dir = tempDir('flux-vae-config');
const pool = new SessionPool();
afterAll(async () => {
  await pool.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The published FLUX.1 VAE (244 tensors) in BFL names, every tensor stored as `dtype`, under `prefix`. */
function publishedVae(dtype: SafetensorsDType, prefix = ''): Map<string, SparseTensor> {
  const shapes = [...encoderWeightShapes(FLUX_VAE_PUBLISHED), ...decoderWeightShapes(FLUX_VAE_PUBLISHED)];
  return new Map(shapes.map(([name, shape]) => [prefix + name, { dtype, shape }]));
}

describe('FLUX VAE config', () => {
  it('the published config reads 106 encoder and 138 decoder tensors, 244 in all, none twice', () => {
    const enc = encoderWeights(FLUX_VAE_PUBLISHED);
    const dec = decoderWeights(FLUX_VAE_PUBLISHED);
    expect([enc.length, dec.length]).toEqual([106, 138]);
    expect(new Set([...enc, ...dec]).size).toBe(244);
    expect(encoderWeightShapes(FLUX_VAE_PUBLISHED).get('encoder.down.1.block.0.nin_shortcut.weight')).toEqual([256, 128, 1, 1]);
    expect(decoderWeightShapes(FLUX_VAE_PUBLISHED).get('decoder.up.1.block.0.nin_shortcut.weight')).toEqual([256, 512, 1, 1]);
    expect(encoderWeightShapes(FLUX_VAE_PUBLISHED).get('encoder.conv_out.weight')).toEqual([32, 512, 3, 3]);
  });

  // Full size: sparse files with the published layout (the data reads as zeros); about 335 MB (F32) each on paper.
  const layouts: Array<{ label: string; file: string; dtype: SafetensorsDType; prefix: string; extra?: Record<string, SparseTensor> }> = [
    { label: "BFL's ae.safetensors (F32)", file: 'ae.safetensors', dtype: 'F32', prefix: '' },
    { label: 'a ComfyUI vae/ file in BF16', file: 'flux-vae-bf16.safetensors', dtype: 'BF16', prefix: '' },
    {
      label: "the vae. part of ComfyUI's flux1-dev-fp8.safetensors",
      file: 'flux1-dev-fp8.safetensors',
      dtype: 'BF16',
      prefix: 'vae.',
      extra: {
        'model.diffusion_model.img_in.weight': { dtype: 'F8_E4M3', shape: [3072, 64] },
        'text_encoders.clip_l.transformer.text_model.final_layer_norm.weight': { dtype: 'F16', shape: [768] },
      },
    },
  ];
  for (const layout of layouts) {
    it(`full size: ${layout.label} is detected, the published config inferred, all 244 tensors used, sessions created`, async () => {
      const file = join(dir, layout.file);
      const tensors = publishedVae(layout.dtype, layout.prefix);
      for (const [k, v] of Object.entries(layout.extra ?? {})) tensors.set(k, v);
      writeSparseSafetensors(file, Object.fromEntries(tensors));
      const used = new Set<string>();
      for (const role of ['vae_encoder', 'vae_decoder'] as const) {
        const graph = await loadModelGraph(file, role, join(dir, 'graphs'), defaultArchitectures());
        expect(graph.architecture).toBe(role === 'vae_encoder' ? 'flux-vae-encoder' : 'flux-vae-decoder');
        expect(graph.keyPrefix).toBe(layout.prefix);
        expect(graph.config).toEqual(FLUX_VAE_PUBLISHED);
        const names = role === 'vae_encoder' ? encoderWeights(FLUX_VAE_PUBLISHED) : decoderWeights(FLUX_VAE_PUBLISHED);
        for (const n of names) used.add(layout.prefix + n);
        const session = await pool.acquire(graph, { disablePrepacking: true });
        expect(session.provider).toBe('cpu');
        await pool.release(session);
      }
      const vaeNames = [...tensors.keys()].filter((k) => k.startsWith(layout.prefix) && !Object.hasOwn(layout.extra ?? {}, k));
      expect(vaeNames.length).toBe(244);
      expect(vaeNames.filter((n) => !used.has(n))).toEqual([]);
      rmSync(file);
    }, 60_000);
  }

  it('refuses an SDXL / SD 1.x VAE (4 latent channels) for both roles', async () => {
    const sdxl = new Map<string, SparseTensor>();
    const c4 = { ...FLUX_VAE_PUBLISHED, latentChannels: 4 };
    for (const [n, shape] of [...encoderWeightShapes(c4), ...decoderWeightShapes(c4)]) sdxl.set(n, { dtype: 'F32', shape });
    sdxl.set('quant_conv.weight', { dtype: 'F32', shape: [8, 8, 1, 1] });
    sdxl.set('post_quant_conv.weight', { dtype: 'F32', shape: [4, 4, 1, 1] });
    const file = join(dir, 'sdxl_vae.safetensors');
    writeSparseSafetensors(file, Object.fromEntries(sdxl));
    for (const role of ['vae_encoder', 'vae_decoder'] as const) {
      const load = loadModelGraph(file, role, join(dir, 'graphs'), defaultArchitectures());
      await expect(load).rejects.toThrow(UnknownArchitectureError);
      await expect(load).rejects.toThrow(/sdxl_vae\.safetensors.*looks like an SD 1\.x \/ SDXL VAE \(4 latent channels.*expected the FLUX autoencoder/);
    }
  });

  it("refuses an SD checkpoint, naming its VAE under 'first_stage_model.'", async () => {
    const sd = new Map<string, SparseTensor>();
    for (const [n, shape] of encoderWeightShapes(FLUX_VAE_PUBLISHED)) sd.set(`first_stage_model.${n}`, { dtype: 'F16', shape });
    sd.set('model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight', { dtype: 'F16', shape: [4608, 1536] });
    const file = join(dir, 'sd3_medium.safetensors');
    writeSparseSafetensors(file, Object.fromEntries(sd));
    await expect(loadModelGraph(file, 'vae_encoder', join(dir, 'graphs'), defaultArchitectures())).rejects.toThrow(
      /looks like an SD-family checkpoint \(its VAE sits under 'first_stage_model\.'\); expected the FLUX autoencoder/,
    );
  });
});
