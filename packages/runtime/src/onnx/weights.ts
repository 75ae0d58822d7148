/**
 * Where a graph's weights come from. A weight source answers "which keys exist, with which dtype and shape" (enough
 * to infer a config) and "where are the bytes" (enough to write an initializer). Safetensors sources point ONNX
 * external data straight into the file, so weights are never read, converted or copied by JavaScript.
 */

import { realpathSync } from 'node:fs';
import { elementCount, SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from '../safetensors/dtypes.ts';
import type { SafetensorsHeader } from '../safetensors/header.ts';
import { readTensorFloat32 } from '../safetensors/read-data.ts';
import type { SafetensorsTensorInput } from '../safetensors/writer.ts';

export interface WeightInfo {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

/** Bytes of a weight: a byte range of a file on disk (external data), or bytes held in memory (inline). */
export type WeightData =
  | { readonly kind: 'external'; readonly file: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'inline'; readonly bytes: Uint8Array };

export interface WeightSource {
  keys(): Iterable<string>;
  has(key: string): boolean;
  info(key: string): WeightInfo | undefined;
  data(key: string): WeightData;
  /** Says where the weights live, for error messages ("file x lacks keys ..."). */
  readonly description: string;
  /** Low-rank updates (LoRAs) to apply to a weight inside the graph; absent or empty for none. */
  patches?(key: string): readonly WeightPatch[];
  /**
   * The per-tensor scale of a scaled-fp8 weight (ComfyUI's `*_scaled` checkpoints store `<module>.scale_weight`
   * beside `<module>.weight`): the real weight is the fp8 value times it. Undefined for unscaled weights.
   */
  scale?(key: string): number | undefined;
  /**
   * For a weight composed of stored tensors (SafetensorsTensorInfo.rowParts): its parts in row order, each with the
   * key of the stored tensor it is a row range of (for its fp8 scale). Undefined for an ordinary weight.
   */
  rowParts?(key: string): readonly WeightPart[] | undefined;
}

/** One row range of a composed weight: an initializer of its own over a contiguous byte range of a stored tensor. */
export interface WeightPart {
  /** Unique initializer name (e.g. 'transformer_blocks.0.attn.to_q.weight'). */
  readonly name: string;
  /** The stored tensor it comes from. */
  readonly storedKey: string;
  readonly info: WeightInfo;
  readonly data: WeightData;
}

/**
 * A low-rank update (LoRA) of a 2-D weight W [out, in], applied at run time as a branch beside the layer (blocks.ts
 * `linear`): y[..., rowOffset .. rowOffset + up.rows) += strength * scale * (x @ down^T) @ up^T, with up [rows, rank]
 * and down [rank, in]. W is never modified or copied, so the model stays mapped from its file.
 */
export interface WeightPatch {
  /** Unique prefix for the initializer names of `up` and `down` (e.g. 'lora0/double_blocks.0.img_attn.qkv'). */
  readonly name: string;
  readonly up: { readonly info: WeightInfo; readonly data: WeightData };
  readonly down: { readonly info: WeightInfo; readonly data: WeightData };
  /** Fixed factor (alpha / rank, times the strength when there is no `strengthSlot`). */
  readonly scale: number;
  /**
   * Index into the graph input `lora_strengths` [K] that multiplies this branch, so a new strength needs no new
   * graph or session. Absent: the strength is already in `scale`.
   */
  readonly strengthSlot?: number;
  /** First patched row (USO's single-block qkv LoRA patches only the first rows of linear1). Default 0. */
  readonly rowOffset?: number;
}

/** A weight source whose `patches(key)` answers from `patches` (keys are the source's canonical keys). */
export function withWeightPatches(source: WeightSource, patches: ReadonlyMap<string, readonly WeightPatch[]>): WeightSource {
  for (const key of patches.keys()) {
    if (!source.has(key)) throw new Error(`${source.description}: a patch targets '${key}', which is not a weight of this model`);
  }
  return {
    description: source.description,
    keys: () => source.keys(),
    has: (key) => source.has(key),
    info: (key) => source.info(key),
    data: (key) => source.data(key),
    ...(source.scale ? { scale: source.scale.bind(source) } : {}),
    ...(source.rowParts ? { rowParts: source.rowParts.bind(source) } : {}),
    patches: (key) => patches.get(key) ?? [],
  };
}

/**
 * Weights from one or more safetensors headers (e.g. a prefixed view of a combined checkpoint, or the shards of a
 * split one). Later headers do not override earlier ones: a key present twice is an error naming both files.
 */
export function safetensorsWeights(headers: SafetensorsHeader | readonly SafetensorsHeader[]): WeightSource {
  const list = Array.isArray(headers) ? headers : [headers as SafetensorsHeader];
  const owner = new Map<string, SafetensorsHeader>();
  // ORT refuses external data that resolves outside the allowed folder, symlinks included, so use real paths.
  // A merged shard folder names each tensor's own file.
  const realPaths = new Map<string, string>();
  const realPath = (file: string): string => {
    let real = realPaths.get(file);
    if (real === undefined) realPaths.set(file, (real = realpathSync(file)));
    return real;
  };
  for (const h of list) {
    for (const key of h.tensors.keys()) {
      const previous = owner.get(key);
      if (previous) throw new Error(`Weight '${key}' is in both ${previous.path} and ${h.path}`);
      owner.set(key, h);
    }
  }
  return {
    description: list.map((h) => h.path).join(', '),
    keys: () => owner.keys(),
    has: (key) => owner.has(key),
    info: (key) => {
      const t = owner.get(key)?.tensors.get(key);
      return t ? { dtype: t.dtype, shape: t.shape } : undefined;
    },
    data: (key) => {
      const h = owner.get(key);
      const t = h?.tensors.get(key);
      if (!h || !t) throw new Error(`${list.map((x) => x.path).join(', ')}: no weight named '${key}'`);
      if (t.rowParts) throw new Error(`${h.path}: weight '${key}' is composed of ${t.rowParts.length} stored tensors; read it through linear()`);
      return { kind: 'external', file: realPath(t.file ?? h.path), offset: t.offset, length: t.length };
    },
    rowParts: (key) => {
      const h = owner.get(key);
      const parts = h?.tensors.get(key)?.rowParts;
      return parts?.map((p) => ({
        name: p.name,
        storedKey: p.name.replace(/\[\d+:\d+\]$/, ''),
        info: { dtype: p.dtype, shape: p.shape },
        data: { kind: 'external', file: realPath(p.file ?? h!.path), offset: p.offset, length: p.length },
      }));
    },
    scale: (key) => {
      const scaleKey = scaleKeyOf(key);
      const h = scaleKey === undefined ? undefined : owner.get(scaleKey);
      if (!h) return undefined;
      const values = readTensorFloat32(h, scaleKey!);
      if (values.length !== 1) throw new Error(`${h.path}: '${scaleKey}' holds ${values.length} values; a per-tensor fp8 scale is one`);
      return values[0]!;
    },
  };
}

/** `<module>.scale_weight` for `<module>.weight`: where scaled-fp8 checkpoints keep a weight's scale. */
export function scaleKeyOf(key: string): string | undefined {
  return key.endsWith('.weight') ? `${key.slice(0, -'.weight'.length)}.scale_weight` : undefined;
}

/** Weights held in memory (tests, tiny demo graphs). They become inline rawData initializers. */
export function inlineWeights(tensors: Readonly<Record<string, SafetensorsTensorInput>>, description = 'inline weights'): WeightSource {
  const map = new Map(Object.entries(tensors));
  for (const [key, t] of map) {
    const expected = elementCount(t.shape) * SAFETENSORS_DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) throw new Error(`inlineWeights: '${key}' needs ${expected} bytes, got ${t.data.byteLength}`);
  }
  return {
    description,
    keys: () => map.keys(),
    has: (key) => map.has(key),
    info: (key) => {
      const t = map.get(key);
      return t ? { dtype: t.dtype, shape: t.shape } : undefined;
    },
    data: (key) => {
      const t = map.get(key);
      if (!t) throw new Error(`${description}: no weight named '${key}'`);
      return { kind: 'inline', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
    },
    scale: (key) => {
      const t = map.get(scaleKeyOf(key) ?? '');
      if (!t) return undefined;
      if (t.dtype !== 'F32' || t.data.byteLength !== 4) throw new Error(`${description}: the scale of '${key}' must be one F32 value`);
      return new Float32Array(new Uint8Array(t.data.buffer, t.data.byteOffset, 4).slice().buffer)[0]!;
    },
  };
}
