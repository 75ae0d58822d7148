/**
 * Deterministic random weights seeded by tensor name, for golden tests and demo models: the same name always gives
 * the same values, whatever order tensors are created in, so a tiny config's checkpoint can be regenerated anywhere.
 */

import { float32ToBfloat16Bits, float32ArrayToFloat16 } from '../tensor/float16.ts';
import { float32ArrayToFloat8E4M3, float8E4M3ArrayToFloat32 } from '../tensor/float8.ts';
import type { SafetensorsTensorInput } from '../safetensors/writer.ts';
import { elementCount } from '../safetensors/dtypes.ts';

/** 32-bit FNV-1a hash of a string (UTF-16 code units). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast 32-bit generator; quality is ample for test weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Normal(mean, std) values seeded by `name` (Box-Muller over mulberry32 seeded with FNV-1a of the name and `seed`).
 *
 * @example
 * randomWeight('blocks.0.attn.qkv.weight', [12, 4], { std: 0.2 }); // Float32Array(48), same every time
 */
export function randomWeight(
  name: string,
  shape: readonly number[],
  options: { std?: number; mean?: number; seed?: number } = {},
): Float32Array {
  const rand = mulberry32(fnv1a(`${options.seed ?? 0}:${name}`));
  const n = elementCount(shape);
  const out = new Float32Array(n);
  const std = options.std ?? 1;
  const mean = options.mean ?? 0;
  for (let i = 0; i < n; i += 2) {
    const u1 = Math.max(rand(), 1e-12);
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

export type RandomWeightDType = 'F32' | 'F16' | 'BF16' | 'F8_E4M3';

/** A weight spec: shape plus optional std/mean (e.g. mean 1 for norm scales). */
export interface RandomWeightSpec {
  readonly shape: readonly number[];
  readonly std?: number;
  readonly mean?: number;
}

/**
 * A whole random checkpoint, ready for writeSafetensors, plus the float32 values each tensor really holds after
 * rounding to `dtype` (what a reference implementation must use to match the graph exactly).
 */
export function randomCheckpoint(
  specs: Readonly<Record<string, RandomWeightSpec>>,
  dtype: RandomWeightDType = 'F32',
  seed = 0,
): { tensors: Record<string, SafetensorsTensorInput>; values: Record<string, Float32Array> } {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  const values: Record<string, Float32Array> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const v = randomWeight(name, spec.shape, { std: spec.std ?? 1, mean: spec.mean ?? 0, seed });
    if (dtype === 'F32') {
      tensors[name] = { dtype, shape: spec.shape, data: v };
      values[name] = v;
    } else if (dtype === 'BF16') {
      const bits = Uint16Array.from(v, (x) => float32ToBfloat16Bits(x));
      tensors[name] = { dtype, shape: spec.shape, data: bits };
      values[name] = new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
    } else if (dtype === 'F8_E4M3') {
      const bits = float32ArrayToFloat8E4M3(v);
      tensors[name] = { dtype, shape: spec.shape, data: bits };
      values[name] = float8E4M3ArrayToFloat32(bits);
    } else {
      const bits = float32ArrayToFloat16(v);
      tensors[name] = { dtype, shape: spec.shape, data: bits };
      values[name] = decodeHalf(bits);
    }
  }
  return { tensors, values };
}

function decodeHalf(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
