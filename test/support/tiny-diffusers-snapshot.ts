/**
 * Writes the tiny real-architecture set as a Hugging Face snapshot of FLUX.1-dev (model_index.json, transformer/ and
 * text_encoder_2/ as shards with an index JSON, vae/, text_encoder/, tokenizer_2/tokenizer.json), in diffusers' and
 * transformers' names. The DiT and VAE tensors are the tiny BFL ones renamed to diffusers' names (facts from
 * diffusers' FluxTransformer2DModel / AutoencoderKL layouts): fused BFL weights are split back into to_q/to_k/to_v
 * (and proj_mlp), the final modulation's halves swapped to [scale; shift], the VAE's 1x1 attention convs stored as
 * linears. Nothing is converted numerically: the same bytes in other places.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TINY_DIT, tinyTensors, writeSafetensors, type SafetensorsTensorInput } from '../../packages/runtime/src/index.ts';

type Tensors = Record<string, SafetensorsTensorInput>;

/** Rows [start, end) of a tensor, as a tensor over the same bytes. */
function rows(t: SafetensorsTensorInput, start: number, end: number): SafetensorsTensorInput {
  const rowElements = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = t.data as Uint16Array;
  return { dtype: t.dtype, shape: [end - start, ...t.shape.slice(1)], data: data.subarray(start * rowElements, end * rowElements) };
}

const TOP: Record<string, string> = {
  img_in: 'x_embedder', txt_in: 'context_embedder',
  'time_in.in_layer': 'time_text_embed.timestep_embedder.linear_1', 'time_in.out_layer': 'time_text_embed.timestep_embedder.linear_2',
  'guidance_in.in_layer': 'time_text_embed.guidance_embedder.linear_1', 'guidance_in.out_layer': 'time_text_embed.guidance_embedder.linear_2',
  'vector_in.in_layer': 'time_text_embed.text_embedder.linear_1', 'vector_in.out_layer': 'time_text_embed.text_embedder.linear_2',
  'final_layer.linear': 'proj_out',
};
const DOUBLE: Record<string, string> = {
  'img_mod.lin': 'norm1.linear', 'txt_mod.lin': 'norm1_context.linear', 'img_attn.proj': 'attn.to_out.0', 'txt_attn.proj': 'attn.to_add_out',
  'img_mlp.0': 'ff.net.0.proj', 'img_mlp.2': 'ff.net.2', 'txt_mlp.0': 'ff_context.net.0.proj', 'txt_mlp.2': 'ff_context.net.2',
  'img_attn.norm.query_norm': 'attn.norm_q', 'img_attn.norm.key_norm': 'attn.norm_k',
  'txt_attn.norm.query_norm': 'attn.norm_added_q', 'txt_attn.norm.key_norm': 'attn.norm_added_k',
};
const SINGLE: Record<string, string> = {
  'modulation.lin': 'norm.linear', linear2: 'proj_out', 'norm.query_norm': 'attn.norm_q', 'norm.key_norm': 'attn.norm_k',
};

/** The tiny DiT in diffusers' FluxTransformer2DModel names. */
function tinyDiffusersTransformer(): Tensors {
  const out: Tensors = {};
  const h = TINY_DIT.hidden;
  for (const [name, t] of Object.entries(tinyTensors('dit', 'BF16'))) {
    const m = /^(.*)\.(weight|bias|scale)$/.exec(name)!;
    const [module, kind] = [m[1]!, m[2] === 'scale' ? 'weight' : m[2]!];
    const block = /^(double_blocks|single_blocks)\.(\d+)\.(.+)$/.exec(module);
    if (module === 'final_layer.adaLN_modulation.1') {
      out[`norm_out.linear.${kind}`] = { ...t, data: concatRows([rows(t, h, 2 * h), rows(t, 0, h)]) };
    } else if (TOP[module]) {
      out[`${TOP[module]}.${kind}`] = t;
    } else if (block) {
      const [, group, n, rest] = block as unknown as [string, string, string, string];
      const target = group === 'double_blocks' ? `transformer_blocks.${n}` : `single_transformer_blocks.${n}`;
      const fused: Record<string, string[]> =
        group === 'double_blocks'
          ? { 'img_attn.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'], 'txt_attn.qkv': ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'] }
          : { linear1: ['attn.to_q', 'attn.to_k', 'attn.to_v', 'proj_mlp'] };
      if (fused[rest]) {
        fused[rest].forEach((part, i) => {
          const end = i < 3 ? (i + 1) * h : t.shape[0]!;
          out[`${target}.${part}.${kind}`] = rows(t, i * h, end);
        });
      } else {
        const renamed = (group === 'double_blocks' ? DOUBLE : SINGLE)[rest];
        if (!renamed) throw new Error(`no diffusers name for ${name}`);
        out[`${target}.${renamed}.${kind}`] = t;
      }
    } else {
      throw new Error(`no diffusers name for ${name}`);
    }
  }
  return out;
}

function concatRows(parts: SafetensorsTensorInput[]): Uint16Array {
  const total = parts.reduce((s, p) => s + (p.data as Uint16Array).length, 0);
  const data = new Uint16Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p.data as Uint16Array, at);
    at += (p.data as Uint16Array).length;
  }
  return data;
}

/** The tiny VAE in diffusers' AutoencoderKL names (four levels, so decoder up.L is up_blocks.(3 - L)). */
function tinyDiffusersVae(): Tensors {
  const out: Tensors = {};
  const attention: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };
  for (const [name, t] of Object.entries(tinyTensors('vae', 'F16'))) {
    const resnet = (rest: string) => rest.replace(/^nin_shortcut\./, 'conv_shortcut.');
    let m: RegExpExecArray | null;
    let renamed: string;
    let tensor = t;
    if ((m = /^(encoder|decoder)\.norm_out\.(.+)$/.exec(name))) renamed = `${m[1]}.conv_norm_out.${m[2]}`;
    else if ((m = /^encoder\.down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(name))) renamed = `encoder.down_blocks.${m[1]}.resnets.${m[2]}.${resnet(m[3]!)}`;
    else if ((m = /^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$/.exec(name))) renamed = `encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`;
    else if ((m = /^decoder\.up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(name))) renamed = `decoder.up_blocks.${3 - Number(m[1])}.resnets.${m[2]}.${resnet(m[3]!)}`;
    else if ((m = /^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$/.exec(name))) renamed = `decoder.up_blocks.${3 - Number(m[1])}.upsamplers.0.conv.${m[2]}`;
    else if ((m = /^(encoder|decoder)\.mid\.block_([12])\.(.+)$/.exec(name))) renamed = `${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${resnet(m[3]!)}`;
    else if ((m = /^(encoder|decoder)\.mid\.attn_1\.(\w+)\.(weight|bias)$/.exec(name))) {
      renamed = `${m[1]}.mid_block.attentions.0.${attention[m[2]!]}.${m[3]}`;
      if (t.shape.length === 4) tensor = { ...t, shape: t.shape.slice(0, 2) }; // diffusers' linear [C, C] for the 1x1 conv
    } else renamed = name; // conv_in / conv_out keep their names
    out[renamed] = tensor;
  }
  return out;
}

/** Splits tensors into `n` shards plus `<stem>.safetensors.index.json`, as Hugging Face writes big components. */
function writeShards(dir: string, stem: string, tensors: Tensors, n: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const names = Object.keys(tensors);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < n; s++) {
    const file = `${stem}-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const part = names.filter((_, i) => i % n === s);
    writeSafetensors(path.join(dir, file), Object.fromEntries(part.map((k) => [k, tensors[k]!])));
    for (const k of part) weightMap[k] = file;
  }
  fs.writeFileSync(path.join(dir, `${stem}.safetensors.index.json`), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

/**
 * Writes the snapshot folder `dir` (e.g. models/checkpoints/FLUX.1-dev-tiny). `tokenizer2` is a tokenizer.json for
 * tokenizer_2/ (FLUX.1-dev ships one; tokenizer/ has only vocab.json + merges.txt, so CLIP uses the shipped one).
 */
export function writeTinyDiffusersSnapshot(dir: string, tokenizer2?: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model_index.json'), JSON.stringify({
    _class_name: 'FluxPipeline', scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'], text_encoder: ['transformers', 'CLIPTextModel'],
    text_encoder_2: ['transformers', 'T5EncoderModel'], tokenizer: ['transformers', 'CLIPTokenizer'], tokenizer_2: ['transformers', 'T5TokenizerFast'],
    transformer: ['diffusers', 'FluxTransformer2DModel'], vae: ['diffusers', 'AutoencoderKL'],
  }));
  writeShards(path.join(dir, 'transformer'), 'diffusion_pytorch_model', tinyDiffusersTransformer(), 3);
  fs.mkdirSync(path.join(dir, 'vae'), { recursive: true });
  writeSafetensors(path.join(dir, 'vae', 'diffusion_pytorch_model.safetensors'), tinyDiffusersVae());
  fs.writeFileSync(path.join(dir, 'vae', 'config.json'), JSON.stringify({ _class_name: 'AutoencoderKL', latent_channels: 16, scaling_factor: 0.3611, shift_factor: 0.1159 }));
  fs.mkdirSync(path.join(dir, 'text_encoder'), { recursive: true });
  writeSafetensors(path.join(dir, 'text_encoder', 'model.safetensors'), tinyTensors('clip', 'F16'));
  writeShards(path.join(dir, 'text_encoder_2'), 'model', tinyTensors('t5', 'F16'), 2);
  fs.mkdirSync(path.join(dir, 'tokenizer'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer', 'vocab.json'), '{}');
  if (tokenizer2 !== undefined) {
    fs.mkdirSync(path.join(dir, 'tokenizer_2'), { recursive: true });
    fs.copyFileSync(tokenizer2, path.join(dir, 'tokenizer_2', 'tokenizer.json'));
  }
}
