/**
 * Tiny FLUX DiT configurations and input cases shared by the parity tests and the fixture script
 * (scripts/make-flux-dit-fixtures.ts, which hands them to scripts/flux_dit_reference.py). Weights are seeded by
 * tensor name and inputs by case name, so the tests rebuild exactly what the reference saw. Not exported from the package.
 */

import { randomCheckpoint, type RandomWeightDType, type RandomWeightSpec } from '../random-weights.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { fluxRequiredWeights, fluxAxesDim, type FluxDitConfig } from './flux-dit-config.ts';
import { seededNormal } from './test-support.ts';

/** Every feature on (guidance embedding, QK norm, 3-axis RoPE, modulation); toy widths and depths. */
export const TINY_FLUX: FluxDitConfig = {
  variant: 'flux-dev', inChannels: 64, hidden: 64, heads: 2, mlpHidden: 256, doubleBlocks: 2, singleBlocks: 2,
  ctx: 32, vec: 16, guidanceEmbed: true, axesDim: fluxAxesDim(32), theta: 10000,
};

/** Shapes of every weight of a config, with stds that keep activations O(1) through the blocks. */
export function fluxWeightSpecs(c: FluxDitConfig): Record<string, RandomWeightSpec> {
  const headDim = c.hidden / c.heads;
  const specs: Record<string, RandomWeightSpec> = {};
  for (const key of fluxRequiredWeights(c)) {
    const module = key.replace(/\.(weight|bias|scale)$/, '');
    const inFor: Record<string, number> = {
      img_in: c.inChannels, txt_in: c.ctx, 'time_in.in_layer': 256, 'guidance_in.in_layer': 256, 'vector_in.in_layer': c.vec,
    };
    let out = c.hidden;
    let inF = inFor[module] ?? c.hidden;
    if (/_mod\.lin$/.test(module)) out = 6 * c.hidden;
    else if (/modulation\.lin$/.test(module)) out = 3 * c.hidden;
    else if (/adaLN_modulation\.1$/.test(module)) out = 2 * c.hidden;
    else if (/attn\.qkv$/.test(module)) out = 3 * c.hidden;
    else if (/mlp\.0$/.test(module)) out = c.mlpHidden;
    else if (/mlp\.2$/.test(module)) inF = c.mlpHidden;
    else if (/linear1$/.test(module)) out = 3 * c.hidden + c.mlpHidden;
    else if (/linear2$/.test(module)) inF = c.hidden + c.mlpHidden;
    else if (module === 'final_layer.linear') out = c.inChannels;
    if (key.endsWith('.scale')) specs[key] = { shape: [headDim], std: 0.1, mean: 1 };
    else if (key.endsWith('.bias')) specs[key] = { shape: [out], std: 0.05 };
    // Modulations and the embedders get smaller weights, as trained FLUX has: otherwise (1 + scale) and the gates
    // amplify float32 rounding (already 1e-4 between torch in float32 and float64) and the comparison means less.
    else specs[key] = { shape: [out, inF], std: (/mod|modulation|_in\./.test(module) ? 0.3 : 1) / Math.sqrt(inF) };
  }
  return specs;
}

/** A tiny checkpoint in a stored dtype, with the values it really holds (after rounding). */
export function tinyFluxCheckpoint(c: FluxDitConfig, dtype: RandomWeightDType) {
  return randomCheckpoint(fluxWeightSpecs(c), dtype);
}

/** One parity case: batch, style images (3 tokens each), reference images. */
export interface FluxCase {
  readonly name: string;
  readonly batch: number;
  readonly styles: number;
  readonly refs: number;
}

/** 0/1/2 style images x 0/1 reference x batch 1/2. */
export const FLUX_CASES: readonly FluxCase[] = [1, 2].flatMap((batch) =>
  [0, 1, 2].flatMap((styles) => [0, 1].map((refs) => ({ name: `b${batch}-s${styles}-r${refs}`, batch, styles, refs }))),
);

const GRID = { h: 4, w: 4 };
const REF_GRID = { h: 2, w: 3 };
const TEXT_TOKENS = 8;
const STYLE_TOKENS = 3;

/** (0, row + dh, col + dw) ids of a token grid, repeated for each batch item. */
function gridIds(h: number, w: number, dh: number, dw: number, batch: number): Float32Array {
  const one: number[] = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) one.push(0, i + dh, j + dw);
  return Float32Array.from({ length: one.length * batch }, (_, k) => one[k % one.length]!);
}

/** The feeds of a case, following the `dit` contract (reference placed diagonally after the target, as USO does). */
export function fluxCaseInputs(c: FluxDitConfig, k: FluxCase): Record<string, Tensor> {
  const b = k.batch;
  const n = GRID.h * GRID.w;
  const r = k.refs * REF_GRID.h * REF_GRID.w;
  const s = k.styles * STYLE_TOKENS;
  const t = (name: string, shape: number[], data: Float32Array) => new Tensor('float32', shape, data);
  return {
    img: t('img', [b, n, c.inChannels], seededNormal(`${k.name}/img`, b * n * c.inChannels)),
    img_ids: t('img_ids', [b, n, 3], gridIds(GRID.h, GRID.w, 0, 0, b)),
    ref_img: t('ref_img', [b, r, c.inChannels], seededNormal(`${k.name}/ref`, b * r * c.inChannels)),
    ref_img_ids: t('ref_img_ids', [b, r, 3], k.refs ? gridIds(REF_GRID.h, REF_GRID.w, GRID.h, GRID.w, b) : new Float32Array(0)),
    txt: t('txt', [b, TEXT_TOKENS, c.ctx], seededNormal(`${k.name}/txt`, b * TEXT_TOKENS * c.ctx)),
    txt_ids: t('txt_ids', [b, TEXT_TOKENS, 3], new Float32Array(b * TEXT_TOKENS * 3)),
    style: t('style', [b, s, c.hidden], seededNormal(`${k.name}/style`, b * s * c.hidden)),
    timesteps: t('timesteps', [b], Float32Array.from({ length: b }, (_, i) => 0.8 - 0.35 * i)),
    guidance: t('guidance', [b], Float32Array.from({ length: b }, (_, i) => 3.5 + i)),
    y: t('y', [b, c.vec], seededNormal(`${k.name}/y`, b * c.vec)),
  };
}

/** float8 e4m3fn (bias 7, no infinities) of code b, for b < 0x7f (the positive finite values, ascending). */
function float8Value(b: number): number {
  const exp = (b >> 3) & 0xf;
  const man = b & 7;
  return exp === 0 ? (man / 8) * 2 ** -6 : (1 + man / 8) * 2 ** (exp - 7);
}
const F8_POSITIVE = Float64Array.from({ length: 0x7f }, (_, b) => float8Value(b));

/** Rounds to the nearest float8 e4m3fn (ties to even, saturating at 448): the bits and the values they hold. */
export function toFloat8E4M3(values: Float32Array): { bits: Uint8Array; values: Float32Array } {
  const bits = new Uint8Array(values.length);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const a = Math.abs(v);
    let lo = 0;
    let hi = F8_POSITIVE.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (F8_POSITIVE[mid]! <= a) lo = mid;
      else hi = mid;
    }
    const dLo = a - F8_POSITIVE[lo]!;
    const dHi = F8_POSITIVE[hi]! - a;
    const code = a >= F8_POSITIVE[hi]! ? hi : dLo < dHi || (dLo === dHi && lo % 2 === 0) ? lo : hi;
    bits[i] = code | (v < 0 ? 0x80 : 0);
    out[i] = (v < 0 ? -1 : 1) * F8_POSITIVE[code]!;
  }
  return { bits, values: out };
}

export type FluxFixtureDType = RandomWeightDType | 'F8_E4M3';

/** The tiny checkpoint in any of the four stored dtypes (F8_E4M3 rounded from the F32 values). */
export function tinyFluxFile(c: FluxDitConfig, dtype: FluxFixtureDType) {
  if (dtype !== 'F8_E4M3') return tinyFluxCheckpoint(c, dtype);
  const f32 = tinyFluxCheckpoint(c, 'F32');
  const tensors: ReturnType<typeof tinyFluxCheckpoint>['tensors'] = {};
  const values: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(f32.tensors)) {
    const q = toFloat8E4M3(t.data as Float32Array);
    tensors[name] = { dtype: 'F8_E4M3', shape: t.shape, data: q.bits };
    values[name] = q.values;
  }
  return { tensors, values };
}

/** A LoRA in BFL names on a few layers of every kind the USO LoRA touches (a partial-row one on linear1's qkv part). */
export function tinyFluxLora(c: FluxDitConfig, rank = 4) {
  const targets: Array<{ module: string; rows: number; inF: number }> = [
    { module: 'double_blocks.0.img_attn.qkv', rows: 3 * c.hidden, inF: c.hidden },
    { module: 'double_blocks.1.txt_attn.proj', rows: c.hidden, inF: c.hidden },
    { module: 'single_blocks.0.linear1', rows: 3 * c.hidden, inF: c.hidden },
    { module: 'single_blocks.1.linear2', rows: c.hidden, inF: c.hidden + c.mlpHidden },
  ];
  const specs: Record<string, RandomWeightSpec> = {};
  for (const t of targets) {
    specs[`${t.module}.lora_up.weight`] = { shape: [t.rows, rank], std: 0.2 };
    specs[`${t.module}.lora_down.weight`] = { shape: [rank, t.inF], std: 0.2 };
  }
  const file = randomCheckpoint(specs, 'F32', 7);
  // alpha = rank / 2 on every pair: a scale of 0.5 on top of the strength.
  for (const t of targets) file.tensors[`${t.module}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(rank / 2) };
  return { ...file, targets, rank };
}

/** Strengths the LoRA parity cases run with (one graph, fed as an input). */
export const LORA_STRENGTHS = [0.7, -1.3] as const;
