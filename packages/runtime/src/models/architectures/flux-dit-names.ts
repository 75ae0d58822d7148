/**
 * Diffusers' FLUX transformer layout (a `transformer/` folder of shards, `FluxTransformer2DModel` names) mapped onto
 * BFL names before detection, without copying a byte:
 * - renames (x_embedder -> img_in, attn.norm_q -> img_attn.norm.query_norm.scale, ...);
 * - fused weights that diffusers keeps apart (to_q/to_k/to_v -> img_attn.qkv; to_q/to_k/to_v/proj_mlp -> a single
 *   block's linear1) become one canonical tensor with `rowParts`, run as one Gemm per part (blocks.ts linear);
 * - norm_out.linear stores the final modulation as [scale; shift] where BFL has [shift; scale]: two row ranges of the
 *   stored tensor, each one contiguous byte range of the file.
 */

import type { SafetensorsHeader, SafetensorsTensorInfo } from '../../safetensors/header.ts';
import { SAFETENSORS_DTYPE_BYTES } from '../../safetensors/dtypes.ts';
import type { KeyLayout } from '../architecture.ts';

/** Top-level renames (module paths, `.weight`/`.bias` appended). */
const TOP: Readonly<Record<string, string>> = {
  x_embedder: 'img_in',
  context_embedder: 'txt_in',
  'time_text_embed.timestep_embedder.linear_1': 'time_in.in_layer',
  'time_text_embed.timestep_embedder.linear_2': 'time_in.out_layer',
  'time_text_embed.guidance_embedder.linear_1': 'guidance_in.in_layer',
  'time_text_embed.guidance_embedder.linear_2': 'guidance_in.out_layer',
  'time_text_embed.text_embedder.linear_1': 'vector_in.in_layer',
  'time_text_embed.text_embedder.linear_2': 'vector_in.out_layer',
  proj_out: 'final_layer.linear',
};

/** Renames inside transformer_blocks.N (-> double_blocks.N). */
const DOUBLE: Readonly<Record<string, string>> = {
  'norm1.linear': 'img_mod.lin',
  'norm1_context.linear': 'txt_mod.lin',
  'attn.to_out.0': 'img_attn.proj',
  'attn.to_add_out': 'txt_attn.proj',
  'ff.net.0.proj': 'img_mlp.0',
  'ff.net.2': 'img_mlp.2',
  'ff_context.net.0.proj': 'txt_mlp.0',
  'ff_context.net.2': 'txt_mlp.2',
};
const DOUBLE_NORMS: Readonly<Record<string, string>> = {
  'attn.norm_q.weight': 'img_attn.norm.query_norm.scale',
  'attn.norm_k.weight': 'img_attn.norm.key_norm.scale',
  'attn.norm_added_q.weight': 'txt_attn.norm.query_norm.scale',
  'attn.norm_added_k.weight': 'txt_attn.norm.key_norm.scale',
};
/** Fused canonical modules of a double block and the diffusers modules whose rows they concatenate. */
const DOUBLE_FUSED: Readonly<Record<string, readonly string[]>> = {
  'img_attn.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'],
  'txt_attn.qkv': ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
};

/** Renames inside single_transformer_blocks.N (-> single_blocks.N). */
const SINGLE: Readonly<Record<string, string>> = {
  'norm.linear': 'modulation.lin',
  proj_out: 'linear2',
};
const SINGLE_NORMS: Readonly<Record<string, string>> = {
  'attn.norm_q.weight': 'norm.query_norm.scale',
  'attn.norm_k.weight': 'norm.key_norm.scale',
};
const SINGLE_FUSED: Readonly<Record<string, readonly string[]>> = {
  linear1: ['attn.to_q', 'attn.to_k', 'attn.to_v', 'proj_mlp'],
};

/** The canonical name of a diffusers tensor that is a plain rename, or undefined (fused parts, unknown names). */
export function diffusersFluxRename(name: string): string | undefined {
  const m = /^(.*)\.(weight|bias)$/.exec(name);
  if (!m) return undefined;
  const [, module, kind] = m as unknown as [string, string, string];
  if (TOP[module]) return `${TOP[module]}.${kind}`;
  const block = /^(transformer_blocks|single_transformer_blocks)\.(\d+)\.(.+)$/.exec(module);
  if (!block) return undefined;
  const [, group, n, rest] = block as unknown as [string, string, string, string];
  const double = group === 'transformer_blocks';
  const target = double ? `double_blocks.${n}` : `single_blocks.${n}`;
  const norms = double ? DOUBLE_NORMS : SINGLE_NORMS;
  if (norms[name.slice(`${group}.${n}.`.length)]) return `${target}.${norms[name.slice(`${group}.${n}.`.length)]}`;
  const renamed = (double ? DOUBLE : SINGLE)[rest];
  return renamed ? `${target}.${renamed}.${kind}` : undefined;
}

/** A row range [start, end) of a stored 2-D (or 1-D) tensor as a tensor of its own over the same bytes. */
function rowRange(t: SafetensorsTensorInfo, start: number, end: number, file: string): SafetensorsTensorInfo {
  const rowElements = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rowElements * SAFETENSORS_DTYPE_BYTES[t.dtype];
  return {
    name: `${t.name}[${start}:${end}]`,
    dtype: t.dtype,
    shape: [end - start, ...t.shape.slice(1)],
    offset: t.offset + start * rowBytes,
    length: (end - start) * rowBytes,
    file,
  };
}

/** A canonical tensor made of parts (rows concatenated in order). */
function composed(name: string, parts: readonly SafetensorsTensorInfo[]): SafetensorsTensorInfo {
  const first = parts[0]!;
  if (parts.some((p) => p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.slice(1).join() !== first.shape.slice(1).join())) {
    throw new Error(`cannot compose '${name}' from ${parts.map((p) => `${p.name} ${p.dtype}[${p.shape.join(', ')}]`).join(', ')}`);
  }
  const rows = parts.reduce((sum, p) => sum + p.shape[0]!, 0);
  return { name, dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], offset: first.offset, length: 0, rowParts: parts };
}

/** The canonical BFL view of a diffusers FLUX transformer header; names it could not place are listed as unmapped. */
export function diffusersFluxView(header: SafetensorsHeader): { view: SafetensorsHeader; unmapped: string[] } {
  const tensors = new Map<string, SafetensorsTensorInfo>();
  const used = new Set<string>();
  const fileOf = (t: SafetensorsTensorInfo) => t.file ?? header.path;
  for (const [name, info] of header.tensors) {
    const canonical = diffusersFluxRename(name);
    if (canonical === undefined) continue;
    tensors.set(canonical, { ...info, name: canonical, file: fileOf(info) });
    used.add(name);
  }
  const blocks = (group: string) => new Set([...header.tensors.keys()].map((k) => new RegExp(`^${group}\\.(\\d+)\\.`).exec(k)?.[1]).filter((n): n is string => n !== undefined));
  const fuse = (group: string, target: string, table: Readonly<Record<string, readonly string[]>>) => {
    for (const n of blocks(group)) {
      for (const [canonical, sources] of Object.entries(table)) {
        for (const kind of ['weight', 'bias']) {
          const names = sources.map((s) => `${group}.${n}.${s}.${kind}`);
          const parts = names.map((k) => header.tensors.get(k));
          if (parts.some((p) => p === undefined)) continue; // incomplete: the required-weight check names what is missing
          const infos = parts.map((p) => ({ ...p!, file: fileOf(p!) }));
          tensors.set(`${target}.${n}.${canonical}.${kind}`, composed(`${target}.${n}.${canonical}.${kind}`, infos));
          names.forEach((k) => used.add(k));
        }
      }
    }
  };
  fuse('transformer_blocks', 'double_blocks', DOUBLE_FUSED);
  fuse('single_transformer_blocks', 'single_blocks', SINGLE_FUSED);
  // norm_out.linear is [scale; shift]; BFL's adaLN_modulation.1 is [shift; scale].
  for (const kind of ['weight', 'bias']) {
    const t = header.tensors.get(`norm_out.linear.${kind}`);
    if (!t) continue;
    const half = t.shape[0]! / 2;
    const name = `final_layer.adaLN_modulation.1.${kind}`;
    tensors.set(name, composed(name, [rowRange(t, half, 2 * half, fileOf(t)), rowRange(t, 0, half, fileOf(t))]));
    used.add(t.name);
  }
  const unmapped = [...header.tensors.keys()].filter((k) => !used.has(k));
  return { view: { ...header, tensors }, unmapped };
}

/** Diffusers' FluxTransformer2DModel names (a `transformer/` folder, sharded or not). */
export const fluxDiffusersLayout: KeyLayout = {
  id: 'diffusers',
  matches: (names) => names.includes('x_embedder.weight') && names.some((n) => n.startsWith('transformer_blocks.0.attn.to_q.')),
  toCanonical: diffusersFluxRename,
  view: diffusersFluxView,
};
