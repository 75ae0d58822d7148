/**
 * ComfyUI's `bislerp` upscale method (comfy/utils.py) for channels-first tensors [B, C, H, W]: bilinear resampling
 * where each pair of neighbouring C-vectors is blended by spherical interpolation of their directions and linear
 * interpolation of their lengths, first along the width, then along the height.
 *
 * Per output index o along an axis of n -> m samples, the two sources and the ratio come from torch's bilinear
 * interpolation (align_corners=False) of the index ramps [0, 1, ..., n-1] and [1, 2, ..., n-1, n-1], computed in
 * float32 as torch does: i1 = trunc(p), i2 = trunc(q), r = p - floor(p) with p, q the interpolated ramps.
 * slerp(a, b, r): with unit vectors â, b̂ (0 for a zero vector), ω = acos(â·b̂),
 *   (sin((1-r)ω) â + sin(rω) b̂) / sin ω × (|a|(1-r) + |b| r); a itself when â·b̂ > 1 - 1e-5, and the plain lerp
 *   a(1-r) + b r when â·b̂ < 1e-5 - 1.
 * Arithmetic runs in float64 and is stored as float32 (torch keeps float32 throughout), so values may differ from
 * ComfyUI's by float32 rounding (bounds in bislerp.test.ts).
 */

import { Tensor } from '../tensor/tensor.ts';

const f32 = Math.fround;

/** Sources and ratio per output index along one axis, with torch's float32 bilinear arithmetic. */
function bilinearTaps(inSize: number, outSize: number): { first: Int32Array; second: Int32Array; ratio: Float64Array } {
  const scale = f32(inSize / outSize);
  const ramp = (i: number, shifted: boolean) => (shifted ? Math.min(i + 1, inSize - 1) : i);
  const first = new Int32Array(outSize);
  const second = new Int32Array(outSize);
  const ratio = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let src = f32(f32(scale * f32(o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l1 = f32(src - i0);
    const l0 = f32(1 - l1);
    const interp = (shifted: boolean) => f32(f32(l0 * ramp(i0, shifted)) + f32(l1 * ramp(i1, shifted)));
    const p = interp(false);
    const q = interp(true);
    first[o] = Math.trunc(p);
    second[o] = Math.trunc(q);
    ratio[o] = f32(p - Math.floor(p));
  }
  return { first, second, ratio };
}

/** slerp of the C-vectors a and b (channel stride `stride` in `src`, at `ia`, `ib`) into `dst` at `io` (channel stride `outStride`). */
function slerpInto(src: Float32Array, ia: number, ib: number, stride: number, channels: number, r: number, dst: Float32Array, io: number, outStride: number): void {
  let na = 0;
  let nb = 0;
  for (let c = 0; c < channels; c++) {
    const a = src[ia + c * stride]!;
    const b = src[ib + c * stride]!;
    na += a * a;
    nb += b * b;
  }
  na = Math.sqrt(na);
  nb = Math.sqrt(nb);
  let dot = 0;
  for (let c = 0; c < channels; c++) {
    const a = na === 0 ? 0 : src[ia + c * stride]! / na;
    const b = nb === 0 ? 0 : src[ib + c * stride]! / nb;
    dot += a * b;
  }
  if (dot > 1 - 1e-5) {
    for (let c = 0; c < channels; c++) dst[io + c * outStride] = src[ia + c * stride]!;
    return;
  }
  if (dot < 1e-5 - 1) {
    for (let c = 0; c < channels; c++) dst[io + c * outStride] = src[ia + c * stride]! * (1 - r) + src[ib + c * stride]! * r;
    return;
  }
  const omega = Math.acos(dot);
  const so = Math.sin(omega);
  const wa = Math.sin((1 - r) * omega) / so;
  const wb = Math.sin(r * omega) / so;
  const length = na * (1 - r) + nb * r;
  for (let c = 0; c < channels; c++) {
    const a = na === 0 ? 0 : src[ia + c * stride]! / na;
    const b = nb === 0 ? 0 : src[ib + c * stride]! / nb;
    dst[io + c * outStride] = (wa * a + wb * b) * length;
  }
}

/**
 * Resizes [B, C, H, W] to [B, C, height, width] with ComfyUI's bislerp.
 * @example bislerp(latent, 128, 96) // [B, C, 96, 128]
 */
export function bislerp(samples: Tensor<'float32'>, width: number, height: number): Tensor<'float32'> {
  if (samples.shape.length !== 4) throw new RangeError(`bislerp needs [B, C, H, W], got [${samples.shape.join(', ')}]`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bislerp needs an output size of at least 1x1, got ${width}x${height}`);
  }
  const [b, c, h, w] = samples.shape as [number, number, number, number];
  // Width pass: [B, C, H, W] -> [B, C, H, width]
  const tw = bilinearTaps(w, width);
  const mid = new Float32Array(b * c * h * width);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < width; x++) {
        const row = (n * c * h + y) * w;
        slerpInto(samples.data, row + tw.first[x]!, row + tw.second[x]!, h * w, c, tw.ratio[x]!, mid, (n * c * h + y) * width + x, h * width);
      }
    }
  }
  // Height pass: [B, C, H, width] -> [B, C, height, width]
  const th = bilinearTaps(h, height);
  const out = new Float32Array(b * c * height * width);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const base = n * c * h * width + x;
        slerpInto(mid, base + th.first[y]! * width, base + th.second[y]! * width, h * width, c, th.ratio[y]!, out, (n * c * height + y) * width + x, height * width);
      }
    }
  }
  return Tensor.float32([b, c, height, width], out);
}
