/**
 * Full-size FLUX transformer files for tests and benchmarks, synthesised sparse (published names, shapes and
 * dtypes; no data on disk): BFL flux1-dev in BF16, ComfyUI diffusion_models in F8_E4M3 (1-D tensors in BF16), the
 * `model.diffusion_model.` part of a ComfyUI checkpoint, a sharded diffusers `transformer/` folder, schnell, Kontext.
 * Not exported from the package.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSparseSafetensors, type SparseTensorSpec } from '../../safetensors/sparse.ts';
import type { SafetensorsDType } from '../../safetensors/dtypes.ts';
import { FLUX_CONFIGS, type FluxDitConfig, type FluxVariant } from './flux-dit-config.ts';
import { fluxWeightSpecs } from './flux-dit-cases.ts';
import { diffusersFluxRename } from './flux-dit-names.ts';

export type FluxLayout = 'bfl-dev-bf16' | 'comfy-dev-f8' | 'checkpoint-dev-f8' | 'diffusers-dev-bf16' | 'bfl-schnell-bf16' | 'bfl-kontext-bf16';

export const FLUX_LAYOUTS: Readonly<Record<FluxLayout, { variant: FluxVariant; file: string; tensors: number }>> = {
  'bfl-dev-bf16': { variant: 'flux-dev', file: 'flux1-dev.safetensors', tensors: 780 },
  'comfy-dev-f8': { variant: 'flux-dev', file: 'flux1-dev-fp8-e4m3fn.safetensors', tensors: 780 },
  'checkpoint-dev-f8': { variant: 'flux-dev', file: 'flux1-dev-fp8.safetensors', tensors: 780 },
  'diffusers-dev-bf16': { variant: 'flux-dev', file: 'transformer', tensors: 780 },
  'bfl-schnell-bf16': { variant: 'flux-schnell', file: 'flux1-schnell.safetensors', tensors: 776 },
  'bfl-kontext-bf16': { variant: 'flux-kontext', file: 'flux1-kontext-dev.safetensors', tensors: 780 },
};

/** Published BFL names and shapes; 2-D weights in `dtype`, 1-D tensors (biases, norm scales) in `vectorDtype`. */
export function fluxSparseSpecs(c: FluxDitConfig, dtype: SafetensorsDType, vectorDtype: SafetensorsDType = dtype): Record<string, SparseTensorSpec> {
  return Object.fromEntries(
    Object.entries(fluxWeightSpecs(c)).map(([name, s]) => [name, { dtype: s.shape.length === 2 ? dtype : vectorDtype, shape: s.shape }]),
  );
}

/** The diffusers names and shapes of a config (fused tensors split, as FluxTransformer2DModel stores them). */
export function fluxDiffusersSparseSpecs(c: FluxDitConfig, dtype: SafetensorsDType): Record<string, SparseTensorSpec> {
  const h = c.hidden;
  const out: Record<string, SparseTensorSpec> = {};
  const vec = (n: number) => ({ dtype, shape: [n] });
  const mat = (o: number, i: number) => ({ dtype, shape: [o, i] });
  const modules: Array<[string, number, number]> = [
    ['x_embedder', h, c.inChannels], ['context_embedder', h, c.ctx], ['proj_out', c.inChannels, h], ['norm_out.linear', 2 * h, h],
    ['time_text_embed.timestep_embedder.linear_1', h, 256], ['time_text_embed.timestep_embedder.linear_2', h, h],
    ['time_text_embed.text_embedder.linear_1', h, c.vec], ['time_text_embed.text_embedder.linear_2', h, h],
    ...(c.guidanceEmbed ? ([['time_text_embed.guidance_embedder.linear_1', h, 256], ['time_text_embed.guidance_embedder.linear_2', h, h]] as Array<[string, number, number]>) : []),
  ];
  for (let n = 0; n < c.doubleBlocks; n++) {
    const p = `transformer_blocks.${n}`;
    modules.push([`${p}.norm1.linear`, 6 * h, h], [`${p}.norm1_context.linear`, 6 * h, h]);
    for (const q of ['to_q', 'to_k', 'to_v', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_out.0', 'to_add_out']) modules.push([`${p}.attn.${q}`, h, h]);
    modules.push([`${p}.ff.net.0.proj`, c.mlpHidden, h], [`${p}.ff.net.2`, h, c.mlpHidden], [`${p}.ff_context.net.0.proj`, c.mlpHidden, h], [`${p}.ff_context.net.2`, h, c.mlpHidden]);
    for (const q of ['norm_q', 'norm_k', 'norm_added_q', 'norm_added_k']) out[`${p}.attn.${q}.weight`] = vec(h / c.heads);
  }
  for (let n = 0; n < c.singleBlocks; n++) {
    const p = `single_transformer_blocks.${n}`;
    modules.push([`${p}.norm.linear`, 3 * h, h], [`${p}.attn.to_q`, h, h], [`${p}.attn.to_k`, h, h], [`${p}.attn.to_v`, h, h]);
    modules.push([`${p}.proj_mlp`, c.mlpHidden, h], [`${p}.proj_out`, h, h + c.mlpHidden]);
    for (const q of ['norm_q', 'norm_k']) out[`${p}.attn.${q}.weight`] = vec(h / c.heads);
  }
  for (const [m, o, i] of modules) {
    out[`${m}.weight`] = mat(o, i);
    out[`${m}.bias`] = vec(o);
  }
  return out;
}

/** Writes one layout under `dir`; returns the path to load (a file, or the diffusers folder). */
export function writeFluxLayout(dir: string, layout: FluxLayout): string {
  const { variant, file } = FLUX_LAYOUTS[layout];
  const c = FLUX_CONFIGS[variant];
  const path = join(dir, file);
  mkdirSync(dir, { recursive: true });
  switch (layout) {
    case 'bfl-dev-bf16':
    case 'bfl-schnell-bf16':
    case 'bfl-kontext-bf16':
      writeSparseSafetensors(path, fluxSparseSpecs(c, 'BF16'));
      break;
    case 'comfy-dev-f8':
      writeSparseSafetensors(path, fluxSparseSpecs(c, 'F8_E4M3', 'BF16'));
      break;
    case 'checkpoint-dev-f8': {
      const dit = Object.entries(fluxSparseSpecs(c, 'F8_E4M3', 'BF16')).map(([k, v]) => [`model.diffusion_model.${k}`, v] as const);
      // The other parts of ComfyUI's single file (VAE, text encoders), a few tensors of each, as the real file has.
      const others: Record<string, SparseTensorSpec> = {
        'vae.decoder.conv_in.weight': { dtype: 'BF16', shape: [512, 16, 3, 3] },
        'text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight': { dtype: 'BF16', shape: [49408, 768] },
        'text_encoders.t5xxl.transformer.shared.weight': { dtype: 'F8_E4M3', shape: [32128, 4096] },
      };
      writeSparseSafetensors(path, { ...Object.fromEntries(dit), ...others });
      break;
    }
    case 'diffusers-dev-bf16': {
      mkdirSync(path, { recursive: true });
      const specs = Object.entries(fluxDiffusersSparseSpecs(c, 'BF16'));
      const shards = 3;
      const weightMap: Record<string, string> = {};
      for (let s = 0; s < shards; s++) {
        const name = `diffusion_pytorch_model-0000${s + 1}-of-0000${shards}.safetensors`;
        const part = specs.filter((_, i) => i % shards === s);
        writeSparseSafetensors(join(path, name), Object.fromEntries(part));
        for (const [k] of part) weightMap[k] = name;
      }
      writeFileSync(join(path, 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
      break;
    }
  }
  return path;
}

/** Diffusers names that are plain renames (the rest are fused parts); exported for tests of the name map. */
export const isDiffusersRename = (name: string): boolean => diffusersFluxRename(name) !== undefined;
