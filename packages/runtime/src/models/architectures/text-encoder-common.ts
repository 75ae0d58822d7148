/**
 * What the real text encoders (T5, CLIP) share: reading a header's shapes with errors that name the file, the tensors
 * every loader may meet beside the weights (ComfyUI's scaled-fp8 markers), the lookalike refusal, and the token
 * embedding lookup that never converts a whole embedding table.
 */

import type { GraphBuilder, Value } from '../../onnx/graph-builder.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import { UnknownArchitectureError } from '../loader.ts';

/** Shape of `key`, which must exist with the given rank; throws naming the file. */
export function shapeIn(header: SafetensorsHeader, key: string, rank: number): number[] {
  const info = header.tensors.get(key);
  if (!info) throw new Error(`${header.path}: missing weight '${key}'`);
  if (info.shape.length !== rank) {
    throw new Error(`${header.path}: '${key}' has shape [${info.shape.join(', ')}], expected rank ${rank}`);
  }
  return [...info.shape];
}

/**
 * ComfyUI's `*_scaled` fp8 files store `<module>.scale_weight` (and sometimes `scale_input`) beside each fp8 weight
 * plus a `scaled_fp8` marker; the weight source applies the scales, so architectures list them as ignored.
 */
export function isScaledFp8Companion(name: string): boolean {
  return name === 'scaled_fp8' || name.endsWith('.scale_weight') || name.endsWith('.scale_input');
}

/** A published model whose keys look like ours but is not what the role expects. */
export interface Lookalike {
  readonly name: string;
  readonly width: number;
  readonly depth?: number;
}

/**
 * Refuses a file that has our key layout but another model's sizes. Toy widths below `minPublishedWidth` pass: they
 * are the tiny test configurations of the same architecture (no published encoder is that narrow).
 */
export function refuseLookalike(
  header: SafetensorsHeader,
  found: { width: number; depth: number; what: string },
  expected: { name: string; width: number; depth: number },
  lookalikes: readonly Lookalike[],
  minPublishedWidth = 256,
): void {
  if (found.width === expected.width && found.depth === expected.depth) return;
  if (found.width < minPublishedWidth) return;
  const known =
    lookalikes.find((l) => l.width === found.width && (l.depth === undefined || l.depth === found.depth)) ??
    lookalikes.find((l) => l.width === found.width);
  const looksLike = known ? `${known.name} (${found.what})` : `an unknown ${found.what}`;
  throw new UnknownArchitectureError(
    header.path,
    `looks like ${looksLike}; expected ${expected.name} (width ${expected.width}, ${expected.depth} layers)`,
  );
}

/** Every float8 e4m3fn value by bit pattern (no infinities; S.1111.111 is NaN), for decoding gathered bytes. */
function float8E4M3Table(): Float32Array {
  return Float32Array.from({ length: 256 }, (_, bits) => {
    const sign = bits & 0x80 ? -1 : 1;
    const exponent = (bits >> 3) & 0xf;
    const mantissa = bits & 0x7;
    if (exponent === 0xf && mantissa === 0x7) return NaN;
    return exponent === 0 ? sign * (mantissa / 8) * 2 ** -6 : sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
  });
}

/**
 * Token embedding lookup: Gather on the stored table, then conversion of the gathered rows only, so a 32128 x 4096
 * table is never converted as a whole. bf16/f16 rows are Cast; ONNX's Gather takes no float8, so an F8_E4M3 table is
 * read as its bytes (a uint8 initializer over the same file range) and the gathered bytes are decoded through a
 * 256-entry table, exactly. A scaled-fp8 file's `scale_weight` for the table (the weight source's `scale`) multiplies
 * the rows.
 * ids [B, L] int64 -> [B, L, C] float32.
 */
export function embedTokens(g: GraphBuilder, ids: Value, key: string, name: string): Value {
  const info = g.weights?.info(key);
  if (!g.weights || !info) throw new Error(`${g.weights?.description ?? 'graph without weights'}: missing weight '${key}'`);
  let out: Value;
  if (info.dtype === 'F8_E4M3') {
    const data = g.weights.data(key);
    const bytes =
      data.kind === 'external'
        ? g.externalInitializer(key, 'uint8', info.shape, data.file, data.offset, data.length)
        : g.initializer(key, 'uint8', info.shape, data.bytes); // [V, C] uint8
    const rows = g.gather(bytes, ids, 0, `${name}.gather`); // [B, L, C] uint8
    const index = g.cast(rows, 'int32', `${name}.bits`); // [B, L, C] 0..255 (Gather takes int indices only)
    out = g.gather(g.constFloat(float8E4M3Table(), [256], `${name}.float8_values`), index, 0, name); // [B, L, C]
  } else {
    const rows = g.gather(g.weight(key, { as: 'stored' }), ids, 0, `${name}.gather`); // [B, L, C], stored dtype
    out = info.dtype === 'F32' ? g.identity(rows, name) : g.cast(rows, 'float32', name); // [B, L, C]
  }
  const scale = g.weights.scale?.(key);
  if (scale !== undefined && scale !== 1) out = g.mul(out, g.scalar(scale), `${name}.scaled`);
  return out;
}

/** Sequence positions 0..L-1 of the token axis of `ids` [B, L], as int64 [L]. */
export function positions(g: GraphBuilder, ids: Value, name: string): Value {
  const length = g.squeeze(g.shape(ids, { start: 1, end: 2, name: `${name}.len1` }), [0], `${name}.len`); // [] int64
  return g.op('Range', [g.constInt64([0], []), length, g.constInt64([1], [])], { name }); // [L]
}

/** What a file another text-encoder slot was given looks like, judged from its key names (undefined: no idea). */
export function foreignModelKind(header: SafetensorsHeader): string | undefined {
  const has = (part: string) => [...header.tensors.keys()].some((k) => k.includes(part));
  if (has('double_blocks.') || has('single_blocks.')) return 'a FLUX diffusion model';
  if (has('decoder.conv_in.') || has('encoder.conv_in.')) return 'a VAE';
  if (has('vision_model.') || has('visual.')) return 'an image encoder (vision tower)';
  if (has('text_model.encoder.layers.')) return 'a CLIP text encoder';
  if (has('encoder.block.')) return 'a T5 text encoder';
  return undefined;
}
