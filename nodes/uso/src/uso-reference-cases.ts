/**
 * The cases of the USO reference-procedure parity check (uso-reference-parity.test.ts): style only, subject only,
 * style + subject and two styles on the tiny real-architecture set. Inputs are made from formulas so the test and the
 * fixture script (scripts/make-uso-reference-fixture.ts) build the same ones; the fixture holds only torch's latents.
 * The ComfyUI cases (comfy-uso-parity.test.ts) run ComfyUI's USO graph for 2 steps against a torch implementation of
 * ComfyUI's arithmetic.
 */

import { TINY_SIGLIP, TINY_T5, TINY_CLIP, Tensor } from '@uso-studio/runtime';

export interface UsoReferenceCase {
  name: string;
  seed: number;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  /** Style image names in USO's order (the first one's tokens come first). */
  styles: string[];
  /** Subject (content) image names, in order. */
  subjects: string[];
}

/** 64x64 keeps (W/8)(H/8)//256 at 0, where USO's integer division differs from a float one. */
export const USO_REFERENCE_CASES: readonly UsoReferenceCase[] = [
  { name: 'style', seed: 3407, width: 64, height: 64, steps: 4, guidance: 4, styles: ['a'], subjects: [] },
  { name: 'subject', seed: 11, width: 64, height: 48, steps: 4, guidance: 4, styles: [], subjects: ['s'] },
  { name: 'style-subject', seed: 12, width: 64, height: 64, steps: 4, guidance: 3.5, styles: ['a'], subjects: ['s'] },
  { name: 'two-styles', seed: 13, width: 48, height: 64, steps: 3, guidance: 4, styles: ['a', 'b'], subjects: [] },
];

/** [height, width] of the subject pictures: non-square and unequal references exercise the id offsets. */
const SUBJECT_SIZES: Record<string, readonly [number, number]> = { s: [32, 48], t: [32, 32] };

/** ComfyUI's graph: KSampler euler/simple cfg 1, FluxGuidance, ReferenceLatent + "uxo", USOStyleReference, EasyCache. */
export interface ComfyReferenceCase extends UsoReferenceCase {
  /** Style images in the order their USOStyleReference nodes are applied (the last one's tokens come first). */
  styles: string[];
  /** EasyCache's reuse_threshold, start_percent, end_percent; null: no EasyCache node. */
  easyCache: readonly [number, number, number] | null;
}

export const COMFY_REFERENCE_CASES: readonly ComfyReferenceCase[] = [
  { name: 'style-subject', seed: 21, width: 64, height: 64, steps: 2, guidance: 3.5, styles: ['a'], subjects: ['s'], easyCache: [0.2, 0.15, 0.95] },
  { name: 'two-styles-two-refs', seed: 22, width: 64, height: 48, steps: 2, guidance: 3.5, styles: ['a', 'b'], subjects: ['s', 't'], easyCache: [0.2, 0.15, 0.95] },
  { name: 'no-easycache', seed: 23, width: 48, height: 64, steps: 2, guidance: 3.5, styles: ['b'], subjects: ['t'], easyCache: null },
  // A high threshold from the first step on makes EasyCache skip DiT runs, so its reuse arithmetic is checked too.
  { name: 'easycache-skipping', seed: 24, width: 64, height: 64, steps: 8, guidance: 3.5, styles: ['a'], subjects: ['s'], easyCache: [3, 0, 0.95] },
];

/** An IMAGE [1, H, W, 3] of whole 1/255 steps (SigLIP's 255 rounding is then exact), seeded by name. */
export function referenceImage(name: string): Tensor<'float32'> {
  const [h, w] = SUBJECT_SIZES[name] ?? [TINY_SIGLIP.imageSize, TINY_SIGLIP.imageSize];
  const k = name.charCodeAt(0);
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.45 * Math.sin(0.21 * x * (c + 1) + 0.13 * y * k * 0.01 + c * 1.7 + k);
        data[(y * w + x) * 3 + c] = Math.round(v * 255) / 255;
      }
    }
  }
  return Tensor.float32([1, h, w, 3], data);
}

/** Prompt embeddings: T5 tokens [1, 6, t5 width] and CLIP's pooled vector [1, clip width], seeded by case. */
export function promptEmbeddings(c: UsoReferenceCase): { txt: Tensor<'float32'>; vec: Tensor<'float32'> } {
  const tokens = 6;
  const txt = Float32Array.from({ length: tokens * TINY_T5.width }, (_, i) => Math.sin(0.37 * i + c.seed) * 0.8);
  const vec = Float32Array.from({ length: TINY_CLIP.width }, (_, i) => Math.cos(0.53 * i + c.seed) * 0.6);
  return { txt: Tensor.float32([1, tokens, TINY_T5.width], txt), vec: Tensor.float32([1, TINY_CLIP.width], vec) };
}
