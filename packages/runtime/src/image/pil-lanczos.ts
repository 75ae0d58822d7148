/**
 * Pillow's `Image.resize(size, Image.LANCZOS)` on 8-bit pixels, integer for integer, which ComfyUI's
 * `comfy.utils.lanczos` (and so every `lanczos` upscale_method) goes through.
 *
 * Pillow's algorithm (libImaging/Resample.c, as documented by its source):
 * - a separable two-pass resize: horizontal first, into an 8-bit intermediate, then vertical;
 * - per output index o: scale = in / out, filterscale = max(scale, 1), support = 3 * filterscale,
 *   centre = (o + 0.5) * scale, taps from trunc(centre - support + 0.5) (at least 0) to trunc(centre + support + 0.5)
 *   (at most in), weight of tap i = lanczos3((i - centre + 0.5) / filterscale), normalised to sum 1;
 * - lanczos3(x) = sinc(x) sinc(x / 3) on [-3, 3), sinc(x) = sin(pi x) / (pi x);
 * - weights become fixed point with 22 fraction bits (rounded half away from zero); each output is
 *   (sum + 2^21) >> 22, clamped to 0..255;
 * - RGBA and LA images are resized premultiplied by alpha (Pillow converts to RGBa / La and back).
 */

/** Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2. */
const PRECISION_BITS = 22;
const LANCZOS_SUPPORT = 3;

interface FixedTable {
  /** First input index per output index. */
  first: Int32Array;
  /** Number of taps per output index. */
  count: Int32Array;
  /** Tap weights in fixed point, `taps` per output index. */
  weights: Int32Array;
  taps: number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczos3(x: number): number {
  return x >= -LANCZOS_SUPPORT && x < LANCZOS_SUPPORT ? sinc(x) * sinc(x / LANCZOS_SUPPORT) : 0;
}

/** The taps of one axis, `inSize` -> `outSize` samples, with Pillow's fixed-point weights. */
function pilLanczosTable(inSize: number, outSize: number): FixedTable {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = LANCZOS_SUPPORT * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(centre - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(centre + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = lanczos3((x + xmin - centre + 0.5) / filterScale);
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x]! / total : k[x]!;
      weights[o * taps + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    first[o] = xmin;
    count[o] = xmax;
  }
  return { first, count, weights, taps };
}

function clip8(sum: number): number {
  if (sum <= 0) return 0;
  const v = sum >> PRECISION_BITS;
  return v > 255 ? 255 : v;
}

/** One pass along an axis: `lines` lines of `inLen` samples (stride `step` between samples) -> `outLen` samples. */
function resampleAxis(
  src: Uint8Array,
  dst: Uint8Array,
  table: FixedTable,
  lines: number,
  channels: number,
  index: (line: number, position: number) => number,
  outIndex: (line: number, position: number) => number,
  outLen: number,
): void {
  const half = 1 << (PRECISION_BITS - 1);
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < outLen; o++) {
      const base = o * table.taps;
      const from = table.first[o]!;
      const n = table.count[o]!;
      for (let c = 0; c < channels; c++) {
        let sum = half;
        for (let t = 0; t < n; t++) sum += src[index(line, from + t) + c]! * table.weights[base + t]!;
        dst[outIndex(line, o) + c] = clip8(sum);
      }
    }
  }
}

/** MULDIV255 of Pillow: a * b / 255 rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/**
 * Resizes interleaved uint8 pixels [height, width, channels] to [outHeight, outWidth, channels] exactly as Pillow's
 * LANCZOS does (for 2 and 4 channels, premultiplied by the last channel as for LA / RGBA images).
 * @example pilLanczos(rgb, 640, 480, 3, 320, 240) // Uint8Array of 320 * 240 * 3
 */
export function pilLanczos(data: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Uint8Array {
  if (data.length !== width * height * channels) throw new RangeError(`pilLanczos: ${data.length} bytes is not ${width}x${height}x${channels}`);
  if (outWidth < 1 || outHeight < 1) throw new RangeError(`pilLanczos: output size ${outWidth}x${outHeight} must be at least 1x1`);
  // Pillow returns a copy for the same size before anything else (no premultiplication round trip).
  if (outWidth === width && outHeight === height) return new Uint8Array(data);
  const alpha = channels === 2 || channels === 4;
  let src = data;
  if (alpha) {
    src = new Uint8Array(data);
    for (let p = 0; p < width * height; p++) {
      const a = data[p * channels + channels - 1]!;
      for (let c = 0; c < channels - 1; c++) src[p * channels + c] = mulDiv255(data[p * channels + c]!, a);
    }
  }
  const horizontal = pilLanczosTable(width, outWidth);
  const vertical = pilLanczosTable(height, outHeight);
  let out = src;
  let w = width;
  if (outWidth !== width) {
    // Pillow resizes only the rows the vertical pass reads; the values of those rows are the same.
    const rowsFrom = outHeight !== height ? vertical.first[0]! : 0;
    const rowsTo = outHeight !== height ? vertical.first[outHeight - 1]! + vertical.count[outHeight - 1]! : height;
    const mid = new Uint8Array(height * outWidth * channels);
    const rows = rowsTo - rowsFrom;
    resampleAxis(src, mid, horizontal, rows, channels,
      (row, x) => ((row + rowsFrom) * width + x) * channels,
      (row, x) => ((row + rowsFrom) * outWidth + x) * channels, outWidth);
    out = mid;
    w = outWidth;
  }
  if (outHeight !== height) {
    const result = new Uint8Array(outHeight * w * channels);
    const source = out;
    resampleAxis(source, result, vertical, w, channels,
      (col, y) => (y * w + col) * channels,
      (col, y) => (y * w + col) * channels, outHeight);
    out = result;
  }
  if (alpha) {
    // Back from premultiplied (Pillow's rgba2rgbA): alpha 0 and 255 keep the values, else 255 * v / alpha, clamped.
    const result = out;
    for (let p = 0; p < outWidth * outHeight; p++) {
      const a = result[p * channels + channels - 1]!;
      if (a === 0 || a === 255) continue;
      for (let c = 0; c < channels - 1; c++) result[p * channels + c] = Math.min(255, Math.trunc((255 * result[p * channels + c]!) / a));
    }
    return result;
  }
  return out;
}
