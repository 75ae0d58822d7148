/**
 * Picture metrics the end-to-end tests share: per-channel colour statistics, luminance, a windowed SSIM that only
 * counts windows where the reference has structure, and small helpers. Images are IMAGE tensors' shape and data:
 * float32 [1, H, W, C] in 0..1 (C >= 3; only the first three channels are read).
 */

/** What the metrics read of an IMAGE tensor (runtime's Tensor fits). */
export interface RgbImage {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function pixelCount(img: RgbImage): { n: number; c: number } {
  const c = img.shape[3]!;
  return { n: img.data.length / c, c };
}

/** Mean of each colour channel [r, g, b]. */
export function channelMeans(img: RgbImage): number[] {
  const { n, c } = pixelCount(img);
  const m = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) m[k]! += img.data[i * c + k]!;
  return m.map((v) => v / n);
}

/** Population standard deviation of each colour channel [r, g, b]. */
export function channelStds(img: RgbImage): number[] {
  const { n, c } = pixelCount(img);
  const mean = channelMeans(img);
  const v = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) v[k]! += (img.data[i * c + k]! - mean[k]!) ** 2;
  return v.map((x) => Math.sqrt(x / n));
}

/** Mean and std of each channel over the pixels of several images together (the blend two style images make). */
export function pooledStats(images: readonly RgbImage[]): { mean: number[]; std: number[] } {
  let count = 0;
  const s = [0, 0, 0];
  const s2 = [0, 0, 0];
  for (const img of images) {
    const { n, c } = pixelCount(img);
    count += n;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 3; k++) {
        const x = img.data[i * c + k]!;
        s[k]! += x;
        s2[k]! += x * x;
      }
    }
  }
  const mean = s.map((v) => v / count);
  return { mean, std: s2.map((v, k) => Math.sqrt(Math.max(0, v / count - mean[k]! ** 2))) };
}

/** Rec. 601 luminance plane. */
export function luminance(img: RgbImage): Float64Array {
  const { n, c } = pixelCount(img);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * img.data[i * c]! + 0.587 * img.data[i * c + 1]! + 0.114 * img.data[i * c + 2]!;
  return out;
}

/**
 * Mean SSIM over 8x8 windows (stride 4) of two square luminance planes in 0..1 (C1 = 0.01², C2 = 0.03²), counting
 * only the windows where `reference` has structure (variance > 1e-3): flat windows score near 1 for any flat output,
 * which would let an image without the reference's shapes pass.
 */
export function ssim(a: Float64Array, reference: Float64Array, size: number): number {
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  let total = 0;
  let count = 0;
  for (let y = 0; y + 8 <= size; y += 4) {
    for (let x = 0; x + 8 <= size; x += 4) {
      let ma = 0;
      let mb = 0;
      for (let dy = 0; dy < 8; dy++) {
        for (let dx = 0; dx < 8; dx++) {
          ma += a[(y + dy) * size + x + dx]!;
          mb += reference[(y + dy) * size + x + dx]!;
        }
      }
      ma /= 64;
      mb /= 64;
      let va = 0;
      let vb = 0;
      let cov = 0;
      for (let dy = 0; dy < 8; dy++) {
        for (let dx = 0; dx < 8; dx++) {
          const da = a[(y + dy) * size + x + dx]! - ma;
          const db = reference[(y + dy) * size + x + dx]! - mb;
          va += da * da;
          vb += db * db;
          cov += da * db;
        }
      }
      va /= 63;
      vb /= 63;
      cov /= 63;
      if (vb <= 1e-3) continue;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

/** SSIM of two images' luminance (square, same size), the second being the reference. */
export function luminanceSsim(img: RgbImage, reference: RgbImage): number {
  return ssim(luminance(img), luminance(reference), img.shape[2]!);
}

/** Euclidean distance of two small vectors (e.g. mean colours). */
export function distance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(...a.map((v, i) => v - b[i]!));
}

/** Mean absolute difference of two images of the same shape. */
export function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d += Math.abs(a.data[i]! - b.data[i]!);
  return d / a.data.length;
}

/** Area downscale of a square [1, H, H, C] image by an integer factor to `size` (the subject is 512 -> 256). */
export function areaDownscale(img: RgbImage, size: number): { shape: number[]; data: Float32Array } {
  const [, h, w, c] = img.shape as [number, number, number, number];
  const f = h / size;
  const out = new Float32Array(size * size * c);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += img.data[((y * f + dy) * w + x * f + dx) * c + k]!;
        out[(y * size + x) * c + k] = s / (f * f);
      }
    }
  }
  return { shape: [1, size, size, c], data: out };
}
