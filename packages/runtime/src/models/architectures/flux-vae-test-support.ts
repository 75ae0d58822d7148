/**
 * Shared by the FLUX VAE tests: the committed torch reference (scripts/flux-vae-reference.py), the tiny checkpoint it
 * was made from (weights seeded by tensor name with the same std/mean rules), and a max-abs-difference helper.
 * Not exported from the package.
 */

import { readFileSync } from 'node:fs';
import { randomCheckpoint, randomWeight, type RandomWeightDType, type RandomWeightSpec } from '../random-weights.ts';
import type { SafetensorsTensorInput } from '../../safetensors/writer.ts';

export interface FluxVaeReference {
  readonly madeBy: string;
  readonly config: { ch: number; ch_mult: number[]; enc_blocks: number; dec_blocks: number; z: number; in_ch: number };
  readonly imageShape: number[];
  readonly latentShape: number[];
  readonly weights: Record<string, number[]>;
  readonly cases: ReadonlyArray<{ dtype: RandomWeightDType; part: 'encoder' | 'decoder'; shape: number[]; output: string }>;
}

export const reference = JSON.parse(
  readFileSync(new URL('./fixtures/flux-vae-reference.json', import.meta.url), 'utf8'),
) as FluxVaeReference;

/** The reference script's std/mean per tensor: biases 0.05, GroupNorm scales 1 ± 0.1, convs 1/sqrt(fan-in). */
function weightSpec(name: string, shape: readonly number[]): RandomWeightSpec {
  if (name.endsWith('.bias')) return { shape, std: 0.05 };
  if (shape.length === 1) return { shape, std: 0.1, mean: 1 };
  return { shape, std: 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)) };
}

/** The tiny checkpoint in BFL names, every tensor of the reference, stored as `dtype`. */
export function tinyCheckpoint(dtype: RandomWeightDType): Record<string, SafetensorsTensorInput> {
  const specs = Object.fromEntries(Object.entries(reference.weights).map(([name, shape]) => [name, weightSpec(name, shape)]));
  return randomCheckpoint(specs, dtype).tensors;
}

export const referenceImage = (): Float32Array => randomWeight('input.image', reference.imageShape, { std: 0.5 });
export const referenceLatent = (): Float32Array => randomWeight('input.latent', reference.latentShape, { std: 1 });

export function expectedOutput(dtype: RandomWeightDType, part: 'encoder' | 'decoder'): { shape: number[]; values: Float32Array } {
  const found = reference.cases.find((c) => c.dtype === dtype && c.part === part);
  if (!found) throw new Error(`no ${part} reference for ${dtype}`);
  const bytes = Buffer.from(found.output, 'base64');
  return { shape: found.shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
