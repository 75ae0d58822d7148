/**
 * LoRA files to weight patches: reads a LoRA's header, maps its key names onto the canonical weight names of the
 * model it patches (ComfyUI's formats: for the DiT USO's `processor.*_lora*`, `diffusion_model.*`, kohya
 * `lora_unet_*`, `lycoris_*`; for the text encoders those of comfy/lora.py `model_lora_keys_clip` with FLUX's pair,
 * see TEXT_ENCODER_PREFIXES; `lora_up/lora_down` and `lora_B/lora_A` pairs; optional `.alpha`), and describes each update
 * W[rows] += strength * (alpha / rank) * (up @ down) as a runtime WeightPatch. The bytes stay in the file: the graph
 * runs each update as a low-rank branch beside its layer (runtime blocks.ts `linear`), and with a strength slot the
 * strength is a graph input, so moving a strength slider needs no new graph or session.
 */

import { realpathSync } from 'node:fs';
import { readTensorFloat32, type Role, type SafetensorsHeader, type WeightPatch } from '@uso-studio/runtime';

/** One LoRA file applied with a strength. */
export interface LoraApplication {
  /** Absolute path of the LoRA file. */
  readonly file: string;
  /** The name the user picked (for messages). */
  readonly name: string;
  readonly strength: number;
}

/** What mapping a LoRA onto a model found. */
export interface LoraMapping {
  /** Patches by canonical target key. */
  readonly patches: Map<string, WeightPatch[]>;
  /** LoRA base names (without .lora_up/...) that match no weight of the model (ComfyUI: "lora key not loaded"). */
  readonly unmatched: string[];
  /** Number of target weights patched. */
  readonly patched: number;
}

interface Pair {
  up?: string;
  down?: string;
  alpha?: string;
}

/** USO's processor names inside a block, and where they land. */
const USO_DOUBLE: Readonly<Record<string, string>> = {
  qkv_lora1: 'img_attn.qkv',
  qkv_lora2: 'txt_attn.qkv',
  proj_lora1: 'img_attn.proj',
  proj_lora2: 'txt_attn.proj',
};
const USO_SINGLE: Readonly<Record<string, string>> = {
  qkv_lora: 'linear1',
  proj_lora: 'linear2',
};

/** Splits a LoRA tensor name into (base, part): part is up, down or alpha; null when it is neither. */
function splitLoraKey(key: string): { base: string; part: keyof Pair } | null {
  const rules: Array<[RegExp, keyof Pair]> = [
    [/\.lora_up\.weight$/, 'up'],
    [/\.lora_down\.weight$/, 'down'],
    [/\.lora_B\.weight$/, 'up'],
    [/\.lora_A\.weight$/, 'down'],
    [/\.up\.weight$/, 'up'],
    [/\.down\.weight$/, 'down'],
    [/\.alpha$/, 'alpha'],
  ];
  for (const [re, part] of rules) {
    const m = re.exec(key);
    if (m) return { base: key.slice(0, m.index), part };
  }
  return null;
}

/**
 * The canonical target of a LoRA base name, given the model's weight keys (canonical, e.g. 'double_blocks.0.img_attn.qkv.weight').
 * USO's single-block qkv LoRA patches only the first rows of linear1 (its q, k and v part): `rows` says so.
 */
function targetOf(base: string, modelKeys: ReadonlySet<string>, kohya: ReadonlyMap<string, string>): { key: string; qkvRows: boolean } | null {
  // USO: double_blocks.N.processor.qkv_lora1 / single_blocks.N.processor.qkv_lora
  const uso = /^(?:diffusion_model\.)?(double_blocks|single_blocks)\.(\d+)\.processor\.(\w+)$/.exec(base);
  if (uso) {
    const [, kind, n, proc] = uso;
    const table = kind === 'double_blocks' ? USO_DOUBLE : USO_SINGLE;
    const sub = table[proc!];
    if (!sub) return null;
    const key = `${kind}.${n}.${sub}.weight`;
    return modelKeys.has(key) ? { key, qkvRows: kind === 'single_blocks' && proc === 'qkv_lora' } : null;
  }
  for (const prefix of ['diffusion_model.', 'model.diffusion_model.', '']) {
    if (!base.startsWith(prefix)) continue;
    const key = `${base.slice(prefix.length)}.weight`;
    if (modelKeys.has(key)) return { key, qkvRows: false };
  }
  for (const prefix of ['lora_unet_', 'lycoris_']) {
    if (base.startsWith(prefix)) {
      const key = kohya.get(base.slice(prefix.length));
      if (key) return { key, qkvRows: false };
    }
  }
  return null;
}

/**
 * Where text-encoder LoRA keys point, per role (ComfyUI's CLIP key map for FLUX's CLIP-L + T5-XXL pair): the generic
 * `text_encoders.<model>.transformer.<weight>` names, diffusers' `text_encoder.` for CLIP-L, and the kohya names,
 * whose rest is the canonical weight name with dots flattened to underscores (`lora_te_` / `lora_te1_` for CLIP-L;
 * `lora_te2_` / `lora_te3_` for T5-XXL, as OneTrainer writes FLUX LoRAs).
 */
const TEXT_ENCODER_PREFIXES: Readonly<Record<'t5' | 'clip', { dotted: readonly string[]; kohya: readonly string[] }>> = {
  clip: { dotted: ['text_encoders.clip_l.transformer.', 'text_encoder.'], kohya: ['lora_te_', 'lora_te1_'] },
  t5: { dotted: ['text_encoders.t5xxl.transformer.'], kohya: ['lora_te2_', 'lora_te3_'] },
};

/** The canonical target of a text-encoder LoRA base name (see TEXT_ENCODER_PREFIXES). */
function textEncoderTargetOf(base: string, role: 't5' | 'clip', modelKeys: ReadonlySet<string>, kohya: ReadonlyMap<string, string>): { key: string; qkvRows: boolean } | null {
  const prefixes = TEXT_ENCODER_PREFIXES[role];
  for (const prefix of prefixes.dotted) {
    const key = `${base.slice(prefix.length)}.weight`;
    if (base.startsWith(prefix) && modelKeys.has(key)) return { key, qkvRows: false };
  }
  for (const prefix of prefixes.kohya) {
    const key = base.startsWith(prefix) ? kohya.get(base.slice(prefix.length)) : undefined;
    if (key) return { key, qkvRows: false };
  }
  return null;
}

/**
 * The target of a base name as written, else with a diffusers layer suffix removed (`x.lora_linear_layer`,
 * `x.lora`, `x_lora`: ComfyUI's other up/down spellings). The name as written goes first, so USO's
 * `processor.qkv_lora` keeps its meaning.
 */
function targetOfAny(base: string, role: Role, keys: ReadonlySet<string>, kohya: ReadonlyMap<string, string>): { key: string; qkvRows: boolean } | null {
  const bases = [base, ...DIFFUSERS_LAYER_SUFFIXES.filter((suffix) => base.endsWith(suffix)).map((suffix) => base.slice(0, -suffix.length))];
  for (const candidate of bases) {
    const target = isTextEncoderRole(role) ? textEncoderTargetOf(candidate, role, keys, kohya) : targetOf(candidate, keys, kohya);
    if (target) return target;
  }
  return null;
}

const DIFFUSERS_LAYER_SUFFIXES = ['.lora_linear_layer', '.lora', '_lora'] as const;

/** Whether a role's LoRA keys use the text-encoder formats. */
function isTextEncoderRole(role: Role): role is 't5' | 'clip' {
  return role === 't5' || role === 'clip';
}

/**
 * Maps one LoRA file onto a model whose canonical weight keys are `modelKeys`.
 *
 * @param header the LoRA file's header
 * @param modelKeys canonical keys of the model (the loader's prefix-stripped view)
 * @param strength LoraLoaderModelOnly's strength_model
 * @param namePrefix unique prefix for the initializer names of this LoRA's tensors (e.g. 'lora0')
 * @param strengthSlot index of this LoRA's strength in the graph input `lora_strengths`; when given, `strength` is
 *   left out of the patches' scale (the caller feeds it at run time)
 * @param role the model's role: 'dit' (the default) reads the DiT's key formats, 't5' and 'clip' the text encoders'
 * @throws Error naming the file when a pair is incomplete or its shapes do not fit the target
 */
export function mapLora(
  header: SafetensorsHeader,
  modelKeys: Iterable<string>,
  modelShape: (key: string) => readonly number[] | undefined,
  strength: number,
  namePrefix: string,
  strengthSlot?: number,
  role: Role = 'dit',
): LoraMapping {
  const keys = new Set(modelKeys);
  // kohya names flatten dots to underscores; map them back through the model's own names.
  const kohya = new Map<string, string>();
  for (const key of keys) if (key.endsWith('.weight')) kohya.set(key.slice(0, -'.weight'.length).replace(/\./g, '_'), key);

  const pairs = new Map<string, Pair>();
  for (const key of header.tensors.keys()) {
    const split = splitLoraKey(key);
    if (!split) continue;
    const pair = pairs.get(split.base) ?? {};
    pair[split.part] = key;
    pairs.set(split.base, pair);
  }

  // ORT checks external data against real paths, so name the file by its real path.
  const file = realpathSync(header.path);
  const patches = new Map<string, WeightPatch[]>();
  const unmatched: string[] = [];
  for (const [base, pair] of pairs) {
    if (!pair.up || !pair.down) {
      if (pair.up || pair.down) throw new Error(`${header.path}: LoRA '${base}' has only its ${pair.up ? 'up' : 'down'} matrix`);
      continue;
    }
    const target = targetOfAny(base, role, keys, kohya);
    if (!target) {
      unmatched.push(base);
      continue;
    }
    const up = header.tensors.get(pair.up)!;
    const down = header.tensors.get(pair.down)!;
    const targetShape = modelShape(target.key) ?? [];
    if (up.shape.length !== 2 || down.shape.length !== 2 || targetShape.length !== 2) {
      throw new Error(`${header.path}: LoRA '${base}' is not a 2-D linear update (up [${up.shape}], down [${down.shape}], weight [${targetShape}])`);
    }
    const rank = down.shape[0]!;
    if (up.shape[1] !== rank || down.shape[1] !== targetShape[1] || up.shape[0]! > targetShape[0]!) {
      throw new Error(
        `${header.path}: LoRA '${base}' (up [${up.shape}], down [${down.shape}]) does not fit ${target.key} [${targetShape}]`,
      );
    }
    if (!target.qkvRows && up.shape[0] !== targetShape[0]) {
      throw new Error(`${header.path}: LoRA '${base}' has ${up.shape[0]} rows but ${target.key} has ${targetShape[0]}`);
    }
    // ComfyUI: alpha / rank when the file stores an alpha, else a factor of 1.
    const alpha = pair.alpha ? readTensorFloat32(header, pair.alpha)[0]! / rank : 1;
    const patch: WeightPatch = {
      name: `${namePrefix}/${base}`,
      up: { info: { dtype: up.dtype, shape: up.shape }, data: { kind: 'external', file, offset: up.offset, length: up.length } },
      down: {
        info: { dtype: down.dtype, shape: down.shape },
        data: { kind: 'external', file, offset: down.offset, length: down.length },
      },
      scale: strengthSlot === undefined ? strength * alpha : alpha,
      ...(strengthSlot === undefined ? {} : { strengthSlot }),
      rowOffset: 0,
    };
    const list = patches.get(target.key) ?? [];
    list.push(patch);
    patches.set(target.key, list);
  }
  return { patches, unmatched, patched: patches.size };
}
