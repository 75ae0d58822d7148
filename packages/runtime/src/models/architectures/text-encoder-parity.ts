/**
 * Test support for the T5 and CLIP parity tests: the committed PyTorch reference outputs (fixtures/text-encoders.json,
 * made by scripts/make-text-encoder-fixtures.ts) and the largest absolute difference against them.
 */

import { readFileSync } from 'node:fs';

interface Reference {
  readonly t5: Record<string, string>;
  readonly clip: Record<string, string>;
  readonly t5_buckets: { readonly from: number; readonly buckets: number[] };
}

export const TEXT_ENCODER_REFERENCE: Reference = JSON.parse(
  readFileSync(new URL('./fixtures/text-encoders.json', import.meta.url), 'utf8'),
);

export function referenceOutput(model: 't5' | 'clip', dtype: string): Float32Array {
  const b64 = TEXT_ENCODER_REFERENCE[model][dtype];
  if (!b64) throw new Error(`no ${model} reference for ${dtype}: rerun scripts/make-text-encoder-fixtures.ts`);
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}
