/**
 * CLIPVisionEncode and its preprocessing (comfy/clip_model.py clip_preprocess for SigLIP 384): scale so the short
 * side is 384 ("center") or squash to 384x384 ("none") with torch's antialiased bicubic, centre-crop 384x384,
 * quantise to 1/255 steps, normalise with mean 0.5 and std 0.5. Then the vision encoder graph. The size is the
 * loaded encoder's (384 for so400m; a toy SigLIP config declares its own through its position embeddings).
 */

import { defineNode } from '@uso-studio/core';
import { Tensor, roundHalfEven } from '@uso-studio/runtime';
import { expectDescriptor, type ClipVisionDescriptor } from '../models/descriptors.ts';
import { getModelService } from '../models/model-service.ts';

/** SigLIP so400m patch14-384's input size. */
export const SIGLIP_SIZE = 384;

/** CLIP_VISION_OUTPUT values. */
export interface ClipVisionOutput {
  /** Final layer output after the post layer norm [B, T, width]. */
  readonly last_hidden_state: Tensor<'float32'>;
  /** SigLIP has no projection: the same tensor as last_hidden_state (ComfyUI does the same). */
  readonly image_embeds: Tensor<'float32'>;
  /** The encoder's selected layer outputs [B, K, T, width], in the order its architecture declares (USO: 8, 17, 26). */
  readonly hidden_states: Tensor<'float32'>;
  /** The second-to-last layer's output before the final norm [B, T, width] (ComfyUI's penultimate_hidden_states). */
  readonly penultimate_hidden_states: Tensor<'float32'>;
}

/** The input size a vision graph's config declares (SigLIP: from its position embeddings), else SigLIP so400m's. */
export function visionImageSize(config: unknown): number {
  const size = (config as { imageSize?: unknown } | null)?.imageSize;
  return typeof size === 'number' && Number.isInteger(size) && size > 0 ? size : SIGLIP_SIZE;
}

/**
 * torch's antialiased bicubic taps for one axis (upsample_bicubic2d_aa, align_corners=False): Keys' kernel with
 * a = -0.5 (PIL's), widened by the scale when shrinking, truncated at the edges and normalised to sum 1.
 */
export function antialiasBicubicTaps(inSize: number, outSize: number): { start: Int32Array; size: Int32Array; weights: Float64Array; maxTaps: number } {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  const filter = (x: number): number => {
    const a = -0.5;
    x = Math.abs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((x - 5) * x + 8) * x * a - 4 * a;
    return 0;
  };
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = filter((j + xmin - center + 0.5) * invScale);
      weights[i * maxTaps + j] = w;
      total += w;
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) weights[i * maxTaps + j]! /= total;
    start[i] = xmin;
    size[i] = xsize;
  }
  return { start, size, weights, maxTaps };
}

/** Resizes planar [C, H, W] data with antialiased bicubic (width pass first, as torch does). */
function resizePlanarAA(src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): Float32Array {
  let data = src;
  let curW = w;
  if (outW !== w) {
    const t = antialiasBicubicTaps(w, outW);
    const out = new Float32Array(c * h * outW);
    for (let row = 0; row < c * h; row++) {
      for (let o = 0; o < outW; o++) {
        let acc = 0;
        for (let j = 0; j < t.size[o]!; j++) acc += t.weights[o * t.maxTaps + j]! * data[row * w + t.start[o]! + j]!;
        out[row * outW + o] = acc;
      }
    }
    data = out;
    curW = outW;
  }
  if (outH !== h) {
    const t = antialiasBicubicTaps(h, outH);
    const out = new Float32Array(c * outH * curW);
    for (let ch = 0; ch < c; ch++) {
      for (let o = 0; o < outH; o++) {
        for (let j = 0; j < t.size[o]!; j++) {
          const wgt = t.weights[o * t.maxTaps + j]!;
          const inRow = (ch * h + t.start[o]! + j) * curW;
          const outRow = (ch * outH + o) * curW;
          for (let x = 0; x < curW; x++) out[outRow + x]! += wgt * data[inRow + x]!;
        }
      }
    }
    data = out;
  }
  return data;
}

/**
 * IMAGE [B, H, W, C] -> pixel_values [B, 3, 384, 384] as ComfyUI's clip_preprocess makes them for SigLIP.
 */
export function clipVisionPreprocess(image: Tensor<'float32'>, crop: boolean, size = SIGLIP_SIZE): Tensor<'float32'> {
  if (image.shape.length !== 4) throw new RangeError(`image must be an IMAGE [B, H, W, C], got [${image.shape.join(', ')}]`);
  const [b, h, w, c] = image.shape as [number, number, number, number];
  let outH = size;
  let outW = size;
  if (crop) {
    const k = size / Math.min(h, w);
    outH = roundHalfEven(k * h);
    outW = roundHalfEven(k * w);
  }
  const result = new Float32Array(b * 3 * size * size);
  for (let n = 0; n < b; n++) {
    // [H, W, C] -> planar [3, H, W] (RGB only)
    const planar = new Float32Array(3 * h * w);
    for (let ch = 0; ch < 3; ch++) {
      const from = Math.min(ch, c - 1);
      for (let p = 0; p < h * w; p++) planar[ch * h * w + p] = image.data[(n * h * w + p) * c + from]!;
    }
    const resized = h === size && w === size ? planar : resizePlanarAA(planar, 3, h, w, outH, outW);
    const rh = h === size && w === size ? size : outH;
    const rw = h === size && w === size ? size : outW;
    const y0 = Math.floor((rh - size) / 2);
    const x0 = Math.floor((rw - size) / 2);
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const v = Math.fround(resized[(ch * rh + y + y0) * rw + x + x0]!);
          // torch.clip(255 * x, 0, 255).round() / 255 (round half to even), then (x - 0.5) / 0.5.
          const q = roundHalfEven(Math.min(255, Math.max(0, Math.fround(255 * v)))) / 255;
          result[((n * 3 + ch) * size + y) * size + x] = Math.fround(Math.fround(q) - 0.5) / 0.5;
        }
      }
    }
  }
  return Tensor.float32([b, 3, size, size], result);
}

export const clipVisionEncode = defineNode({
  name: 'CLIPVisionEncode',
  displayName: 'CLIP Vision Encode',
  category: 'conditioning',
  pack: 'nodes',
  inputs: {
    required: {
      clip_vision: { type: 'CLIP_VISION' },
      image: { type: 'IMAGE' },
      crop: { type: 'COMBO', options: ['center', 'none'] },
    },
  },
  outputs: [{ type: 'CLIP_VISION_OUTPUT' }],
  async execute(inputs, context) {
    const vision = expectDescriptor<'CLIP_VISION', ClipVisionDescriptor>(inputs.clip_vision, 'CLIP_VISION', 'clip_vision');
    if (!(inputs.image instanceof Tensor)) throw new TypeError("input 'image' must be an IMAGE");
    const service = getModelService(context.env);
    const request = { file: vision.file, role: 'vision_encoder' } as const;
    const size = visionImageSize((await service.graph(request)).config);
    const pixels = clipVisionPreprocess(inputs.image as Tensor<'float32'>, inputs.crop !== 'none', size);
    const out = await service.run(request, { pixel_values: pixels });
    const last = out.last_hidden_state as Tensor<'float32'>;
    const result: ClipVisionOutput = {
      last_hidden_state: last,
      image_embeds: last,
      hidden_states: out.hidden_states as Tensor<'float32'>,
      penultimate_hidden_states: out.penultimate_hidden_states as Tensor<'float32'>,
    };
    return { outputs: [result] };
  },
});
