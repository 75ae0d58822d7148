/**
 * Image resampling with the semantics of `torch.nn.functional.interpolate(x, size=(h, w), mode=...)`, which ComfyUI's
 * `comfy.utils.common_upscale` uses, applied to ComfyUI IMAGE tensors [B, H, W, C] (channels last).
 *
 * Per mode (output index o, input size n, output size m, scale s = n / m):
 * - 'nearest-exact': src = min(floor((o + 0.5) * s), n - 1).
 * - 'bilinear' (align_corners=False, no antialias): src = max(0, (o + 0.5) * s - 0.5), lerp between floor(src) and
 *   floor(src) + 1 (clamped to n - 1).
 * - 'bicubic' (align_corners=False, A = -0.75): src = (o + 0.5) * s - 0.5, four taps floor(src) - 1 .. + 2 with
 *   indices clamped to the edge; the result is not clamped to 0..1, as torch does not clamp it.
 * - 'area' (adaptive average pooling): the mean over [floor(o * n / m), ceil((o + 1) * n / m)).
 * Every mode is separable, so the width pass runs first and the height pass second (the nesting torch's CPU kernels
 * use for bilinear and bicubic).
 */

import { Tensor } from '../tensor/tensor.ts';

/** The torch interpolate modes ComfyUI offers (lanczos goes through an image library instead). */
export type TorchResizeMode = 'nearest-exact' | 'bilinear' | 'bicubic' | 'area';

export const TORCH_RESIZE_MODES: readonly TorchResizeMode[] = ['nearest-exact', 'bilinear', 'bicubic', 'area'];

/** For each output index, the input indices it reads and their weights (flat, `start[o]..start[o+1]`). */
export interface ResampleTable {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * The 1-D taps one output axis needs for `mode` when going from `inSize` to `outSize` samples.
 * @throws RangeError for sizes below 1 or an unknown mode.
 */
export function resampleTable(inSize: number, outSize: number, mode: TorchResizeMode): ResampleTable {
  if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize < 1 || outSize < 1) {
    throw new RangeError(`resize needs integer sizes of at least 1, got ${inSize} -> ${outSize}`);
  }
  const start = new Int32Array(outSize + 1);
  const index: number[] = [];
  const weight: number[] = [];
  const scale = inSize / outSize;
  const clamp = (i: number) => (i < 0 ? 0 : i > inSize - 1 ? inSize - 1 : i);
  for (let o = 0; o < outSize; o++) {
    start[o] = index.length;
    switch (mode) {
      case 'nearest-exact': {
        index.push(Math.min(Math.floor((o + 0.5) * scale), inSize - 1));
        weight.push(1);
        break;
      }
      case 'bilinear': {
        const src = Math.max(0, (o + 0.5) * scale - 0.5);
        const i0 = Math.floor(src);
        const i1 = Math.min(i0 + 1, inSize - 1);
        const l1 = src - i0;
        index.push(i0, i1);
        weight.push(1 - l1, l1);
        break;
      }
      case 'bicubic': {
        const src = (o + 0.5) * scale - 0.5;
        const i = Math.floor(src);
        const t = src - i;
        const w = cubicWeights(t);
        for (let k = 0; k < 4; k++) {
          index.push(clamp(i - 1 + k));
          weight.push(w[k]!);
        }
        break;
      }
      case 'area': {
        const from = Math.floor((o * inSize) / outSize);
        const to = Math.ceil(((o + 1) * inSize) / outSize);
        for (let i = from; i < to; i++) {
          index.push(i);
          weight.push(1 / (to - from));
        }
        break;
      }
      default:
        throw new RangeError(`Unknown resize mode '${String(mode)}'; expected one of ${TORCH_RESIZE_MODES.join(', ')}`);
    }
  }
  start[outSize] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

const CUBIC_A = -0.75;

/** Keys' cubic convolution weights for the taps at offsets -1, 0, 1, 2 from floor(src), with t = src - floor(src). */
function cubicWeights(t: number): [number, number, number, number] {
  const near = (x: number) => ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A; // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * Resizes an IMAGE-like tensor [B, H, W, C] (any C) to [B, height, width, C] like torch's interpolate on the
 * channels-first view. Returns the input itself when the size is unchanged.
 * @example resizeImage(image, 512, 384, 'area') // [B, 384, 512, C]
 */
export function resizeImage(image: Tensor<'float32'>, width: number, height: number, mode: TorchResizeMode): Tensor<'float32'> {
  const [b, h, w, c] = shape4(image);
  if (width === w && height === h) return image;
  const tx = resampleTable(w, width, mode);
  const ty = resampleTable(h, height, mode);
  const src = image.data;
  // Width pass: [B, H, W, C] -> [B, H, width, C]
  const mid = new Float32Array(b * h * width * c);
  for (let row = 0; row < b * h; row++) {
    const inRow = row * w * c;
    const outRow = row * width * c;
    for (let ox = 0; ox < width; ox++) {
      const k0 = tx.start[ox]!;
      const k1 = tx.start[ox + 1]!;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = k0; k < k1; k++) acc += tx.weight[k]! * src[inRow + tx.index[k]! * c + ch]!;
        mid[outRow + ox * c + ch] = acc;
      }
    }
  }
  // Height pass: [B, H, width, C] -> [B, height, width, C]
  const rowLen = width * c;
  const out = new Float32Array(b * height * rowLen);
  for (let n = 0; n < b; n++) {
    const inBase = n * h * rowLen;
    const outBase = n * height * rowLen;
    for (let oy = 0; oy < height; oy++) {
      const k0 = ty.start[oy]!;
      const k1 = ty.start[oy + 1]!;
      const outRow = outBase + oy * rowLen;
      for (let k = k0; k < k1; k++) {
        const wk = ty.weight[k]!;
        const inRow = inBase + ty.index[k]! * rowLen;
        for (let i = 0; i < rowLen; i++) out[outRow + i]! += wk * mid[inRow + i]!;
      }
    }
  }
  return Tensor.float32([b, height, width, c], out);
}

/**
 * The crop `common_upscale(..., crop='center')` applies before resizing: trims the longer relative side so the
 * aspect ratio matches width:height. Offsets are rounded half-to-even like Python's round().
 */
export function cropCenterToAspect(image: Tensor<'float32'>, width: number, height: number): Tensor<'float32'> {
  const [, h, w] = shape4(image);
  const oldAspect = w / h;
  const newAspect = width / height;
  let x = 0;
  let y = 0;
  if (oldAspect > newAspect) x = roundHalfEven((w - w * (newAspect / oldAspect)) / 2);
  else if (oldAspect < newAspect) y = roundHalfEven((h - h * (oldAspect / newAspect)) / 2);
  return cropImage(image, x, y, w - 2 * x, h - 2 * y);
}

/** The region [y, y + height) x [x, x + width) of every image in the batch. */
export function cropImage(image: Tensor<'float32'>, x: number, y: number, width: number, height: number): Tensor<'float32'> {
  const [b, h, w, c] = shape4(image);
  if (x === 0 && y === 0 && width === w && height === h) return image;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > w || y + height > h) {
    throw new RangeError(`crop ${width}x${height} at (${x}, ${y}) does not fit an image of ${w}x${h}`);
  }
  const out = new Float32Array(b * height * width * c);
  for (let n = 0; n < b; n++) {
    for (let row = 0; row < height; row++) {
      const from = ((n * h + y + row) * w + x) * c;
      out.set(image.data.subarray(from, from + width * c), (n * height + row) * width * c);
    }
  }
  return Tensor.float32([b, height, width, c], out);
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function shape4(image: Tensor<'float32'>): [number, number, number, number] {
  if (image.shape.length !== 4) {
    throw new RangeError(`expected an image tensor [B, H, W, C], got shape [${image.shape.join(', ')}]`);
  }
  return image.shape as unknown as [number, number, number, number];
}
