/**
 * Run a resolution-changing function (a VAE decoder: x8; an encoder: x1/8) over overlapping tiles of a [B, C, H, W]
 * tensor and blend the results, the way ComfyUI's `tiled_scale_multidim` (comfy/utils.py) does, so large images fit in
 * memory and tile borders do not show:
 *
 * 1. Tile starts along each axis are 0, step, 2*step, ... below size - overlap, with step = tile - overlap; each start
 *    is clamped to size - overlap, and the tile is cut at the edge (min(tile, size - start)).
 * 2. Each tile's output gets a feather mask: along each axis the first and last `f = round(overlap * scale)` samples
 *    are multiplied by (t + 1) / f for t = 0..f-1 (both ends, so a tile narrower than 2f is ramped from both sides).
 * 3. Outputs and masks are summed into the canvas at round(start * scale); the result is sum(out * mask) / sum(mask).
 * 4. An input no larger than one tile runs as a whole, without a mask.
 *
 * ComfyUI's decode_tiled_/encode_tiled_ then average three such passes with differently shaped tiles, which moves the
 * seams of each pass to places the others cover (see `tiledScaleThreePass`).
 */

import { Tensor } from '../tensor/tensor.ts';

export interface TiledScaleOptions {
  /** Tile height and width in input samples. */
  readonly tileH: number;
  readonly tileW: number;
  /** Overlap between neighbouring tiles, in input samples. */
  readonly overlap: number;
  /** Output samples per input sample (8 for a VAE decoder, 1/8 for an encoder). */
  readonly scale: number;
  /** Channels of the function's output; default: whatever the first tile returns. */
  readonly outChannels?: number;
  /** Called after each tile (progress). */
  readonly onTile?: () => void | Promise<void>;
}

/** Python's round(): half to even, as ComfyUI's positions use. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function starts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const out: number[] = [];
  for (let s = 0; s < size - overlap; s += tile - overlap) out.push(Math.max(0, Math.min(size - overlap, s)));
  return out;
}

/** Copies x[b, :, y0:y0+h, x0:x0+w] into a new [1, C, h, w] tensor. */
function crop(x: Tensor<'float32'>, b: number, y0: number, x0: number, h: number, w: number): Tensor<'float32'> {
  const [, c, H, W] = x.shape as [number, number, number, number];
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const from = ((b * c + ch) * H + y0 + y) * W + x0;
      out.set(x.data.subarray(from, from + w), (ch * h + y) * w);
    }
  }
  return Tensor.float32([1, c, h, w], out);
}

/** Feather weights along one axis of length n: ramps of length f at both ends, multiplied where they overlap. */
function ramp(n: number, f: number): Float32Array {
  const w = new Float32Array(n).fill(1);
  if (f >= n) return w; // ComfyUI skips an axis whose feather is not shorter than the tile
  for (let t = 0; t < f; t++) {
    const a = (t + 1) / f;
    w[t]! *= a;
    w[n - 1 - t]! *= a;
  }
  return w;
}

/**
 * One tiled pass. `fn` receives [1, C, h, w] tiles and must return [1, outChannels, round(h * scale), round(w * scale)].
 *
 * @example
 * const image = await tiledScale(latent, (t) => decode(t), { tileH: 64, tileW: 64, overlap: 16, scale: 8, outChannels: 3 });
 */
export async function tiledScale(
  x: Tensor<'float32'>,
  fn: (tile: Tensor<'float32'>) => Promise<Tensor<'float32'>>,
  options: TiledScaleOptions,
): Promise<Tensor<'float32'>> {
  const [batch, , H, W] = x.shape as [number, number, number, number];
  const { tileH, tileW, overlap, scale } = options;
  let oc = options.outChannels;
  if (tileH <= overlap || tileW <= overlap) throw new RangeError(`tiles (${tileH} x ${tileW}) must be larger than the overlap (${overlap})`);
  const OH = pyRound(H * scale);
  const OW = pyRound(W * scale);
  const plane = OH * OW;
  let output: Float32Array | undefined;
  // The canvas is allocated once the first tile says how many channels the function gives.
  const canvas = (channels: number): Float32Array => {
    if (oc !== undefined && channels !== oc) throw new Error(`tile function returned ${channels} channels, expected ${oc}`);
    oc = channels;
    output ??= new Float32Array(batch * channels * plane);
    return output;
  };
  for (let b = 0; b < batch; b++) {
    if (H <= tileH && W <= tileW) {
      const whole = await fn(crop(x, b, 0, 0, H, W));
      if (whole.size !== whole.shape[1]! * plane) throw new Error(`tile function returned [${whole.shape.join(', ')}], expected ${OH} x ${OW}`);
      canvas(whole.shape[1]!).set(whole.data, b * oc! * plane);
      await options.onTile?.();
      continue;
    }
    let sum: Float64Array | undefined;
    const weight = new Float64Array(plane);
    const feather = pyRound(overlap * scale);
    for (const y0 of starts(H, tileH, overlap)) {
      for (const x0 of starts(W, tileW, overlap)) {
        const h = Math.min(tileH, H - y0);
        const w = Math.min(tileW, W - x0);
        const out = await fn(crop(x, b, y0, x0, h, w));
        const [, outC, th, tw] = out.shape as [number, number, number, number];
        canvas(outC);
        sum ??= new Float64Array(outC * plane);
        const ry = ramp(th, feather);
        const rx = ramp(tw, feather);
        const oy = pyRound(y0 * scale);
        const ox = pyRound(x0 * scale);
        if (oy + th > OH || ox + tw > OW) throw new Error(`tile output [${th}, ${tw}] at (${oy}, ${ox}) exceeds the canvas [${OH}, ${OW}]`);
        for (let y = 0; y < th; y++) {
          for (let xx = 0; xx < tw; xx++) {
            const m = ry[y]! * rx[xx]!;
            const p = (oy + y) * OW + ox + xx;
            weight[p]! += m;
            for (let c = 0; c < outC; c++) sum[c * plane + p]! += out.data[(c * th + y) * tw + xx]! * m;
          }
        }
        await options.onTile?.();
      }
    }
    const base = b * oc! * plane;
    for (let c = 0; c < oc!; c++) for (let p = 0; p < plane; p++) output![base + c * plane + p] = sum![c * plane + p]! / weight[p]!;
  }
  return Tensor.float32([batch, oc!, OH, OW], output!);
}

/** Tile sizes of ComfyUI's three passes: (w/2, h*2), (w*2, h/2), (w, h) for decoding; encoding uses the same three. */
export function threePassTiles(tileH: number, tileW: number): Array<{ tileH: number; tileW: number }> {
  return [
    { tileH: tileH * 2, tileW: Math.floor(tileW / 2) },
    { tileH: Math.floor(tileH / 2), tileW: tileW * 2 },
    { tileH, tileW },
  ];
}

/**
 * ComfyUI's decode_tiled_ / encode_tiled_ (2-D): the mean of three tiled passes with tiles of (h*2, w/2), (h/2, w*2)
 * and (h, w), so every pixel near one pass's seam lies inside a tile of another pass.
 */
export async function tiledScaleThreePass(
  x: Tensor<'float32'>,
  fn: (tile: Tensor<'float32'>) => Promise<Tensor<'float32'>>,
  options: TiledScaleOptions,
): Promise<Tensor<'float32'>> {
  let total: Float32Array | undefined;
  let shape: readonly number[] = [];
  for (const tiles of threePassTiles(options.tileH, options.tileW)) {
    const pass = await tiledScale(x, fn, { ...options, ...tiles });
    shape = pass.shape;
    if (!total) total = pass.data;
    else for (let i = 0; i < total.length; i++) total[i]! += pass.data[i]!;
  }
  for (let i = 0; i < total!.length; i++) total![i]! /= 3;
  return Tensor.float32(shape, total!);
}
