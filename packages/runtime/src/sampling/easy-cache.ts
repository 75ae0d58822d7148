/**
 * ComfyUI's EasyCache (comfy_extras/nodes_easycache.py) as a wrapper around a velocity model: inside a sigma window
 * it estimates how much the output would change from how much the input changed, and while the accumulated
 * estimate stays under a threshold it skips the model and reuses the last output-minus-input difference.
 *
 * Per call, with sigma compared in float32 like ComfyUI:
 * 1. sigma <= sigma(end_percent): past the window, plain model call, no cache bookkeeping.
 * 2. Active when sigma <= sigma(start_percent):
 *    dx = mean |sub(x) - sub(x_prev)| (sub = every 8th row and column of the last two dims);
 *    when both a transformation rate k and the previous output norm exist: cum += k * dx / out_norm;
 *    cum < threshold (and a cached difference exists) -> skip: return x + (out_prev - x_prev); else cum = 0.
 * 3. Otherwise run the model; if a previous output exists, k = mean |sub(out) - sub(out_prev)| / dx (only when
 *    dx was measured this call); then store x_prev, out_prev, out_norm = mean |out| and the difference out - x.
 * Before the window (sigma > sigma(start)) step 3 still runs, so the first active step already has history.
 *
 * Scope: one conditioning stream per wrapper (cfg 1, as the USO workflow runs). ComfyUI's float32 means are
 * computed here in double, so a decision that sits exactly at the threshold could go the other way.
 */

import { percentToSigma, FLUX_DEV_SHIFT } from '../schedule/flux-sigmas.ts';
import type { VelocityModel } from './samplers.ts';

/** Options of {@link withEasyCache} (ComfyUI's node defaults). */
export interface EasyCacheOptions {
  /** Shape of the x the model receives, at least 2-D ([B, C, H, W] for Flux latents); used for the subsampling. */
  shape: readonly number[];
  /** Skip while the accumulated change estimate stays below this. Default 0.2. */
  reuseThreshold?: number;
  /** Window start as a fraction of the schedule (converted with percent_to_sigma). Default 0.15. */
  startPercent?: number;
  /** Window end. Default 0.95. */
  endPercent?: number;
  /** Subsampling stride of the last two dims for the change measures. Default 8. */
  subsampleFactor?: number;
  /** Model sampling shift for percent_to_sigma. Default 1.15 (FLUX.1-dev). */
  shift?: number;
  /**
   * Where the element at a row-major index of `shape` sits in the x the model actually receives, when the sampler
   * works in another layout (e.g. packed FLUX tokens). Keeps the subsampled positions those of ComfyUI. Default: same.
   */
  layout?: (index: number) => number;
}

/** Counters of a cached model: model calls skipped, and calls made to the wrapper. */
export interface EasyCacheStats {
  skipped: number;
  total: number;
}

/** A velocity model with EasyCache in front, its counters, and a reset for the next sampling run. */
export interface EasyCachedModel {
  model: VelocityModel;
  stats(): EasyCacheStats;
  /** Clears all cache state and counters (ComfyUI starts each sampling run from a fresh copy). */
  reset(): void;
}

/**
 * Wraps `model` with EasyCache.
 *
 * @example
 * const cached = withEasyCache(flux, { shape: [1, 16, 128, 128] });
 * await sampleEuler(denoiserFromVelocity(cached.model), x, sigmas);
 * cached.stats(); // { skipped: 7, total: 20 }
 */
export function withEasyCache(model: VelocityModel, options: EasyCacheOptions): EasyCachedModel {
  const {
    shape,
    reuseThreshold = 0.2,
    startPercent = 0.15,
    endPercent = 0.95,
    subsampleFactor = 8,
    shift = FLUX_DEV_SHIFT,
    layout,
  } = options;
  // Options first, with what to pass instead.
  if (shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new RangeError(`withEasyCache: shape must have >= 2 positive dims, e.g. [1, 16, 128, 128]; got [${shape.join(', ')}]`);
  }
  if (!(reuseThreshold >= 0)) throw new RangeError(`withEasyCache: reuseThreshold must be >= 0, got ${reuseThreshold}`);
  for (const [name, p] of [
    ['startPercent', startPercent],
    ['endPercent', endPercent],
  ] as const) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`withEasyCache: ${name} must be in [0, 1], got ${p}`);
  }
  if (!Number.isInteger(subsampleFactor) || subsampleFactor < 1) {
    throw new RangeError(`withEasyCache: subsampleFactor must be an integer >= 1, got ${subsampleFactor}`);
  }
  const numel = shape.reduce((a, d) => a * d, 1);
  const startSigma = Math.fround(percentToSigma(startPercent, shift));
  const endSigma = Math.fround(percentToSigma(endPercent, shift));
  const subIndex = subsampleIndices(shape, subsampleFactor);
  if (layout) for (let i = 0; i < subIndex.length; i++) subIndex[i] = layout(subIndex[i]!);

  let xPrevSub: Float32Array | null = null;
  let outPrevSub: Float32Array | null = null;
  let outPrevNorm: number | null = null;
  let cacheDiff: Float32Array | null = null;
  let rate: number | null = null;
  let cumulative = 0;
  let skipped = 0;
  let total = 0;

  const reset = (): void => {
    xPrevSub = outPrevSub = cacheDiff = null;
    outPrevNorm = rate = null;
    cumulative = 0;
    skipped = total = 0;
  };

  const cachedModel: VelocityModel = async (x, sigma) => {
    if (x.length !== numel) {
      throw new RangeError(`EasyCache: got ${x.length} values but the wrapper was made for shape [${shape.join(', ')}]`);
    }
    total++;
    const s = Math.fround(sigma);
    // 1. Past the window: plain call, state untouched.
    if (!(s > endSigma)) return model(x, sigma);

    // 2. Inside the window: estimate, maybe skip.
    let inputChange: number | null = null;
    if (s <= startSigma) {
      if (xPrevSub) inputChange = meanAbsDiff(gather(x, subIndex), xPrevSub);
      if (outPrevNorm !== null && rate !== null && inputChange !== null) {
        cumulative += (rate * inputChange) / outPrevNorm;
        if (cumulative < reuseThreshold && cacheDiff) {
          skipped++;
          const out = new Float32Array(x.length);
          for (let i = 0; i < x.length; i++) out[i] = x[i]! + cacheDiff[i]!;
          return out;
        }
        cumulative = 0;
      }
    }

    // 3. Run and record.
    const out = await model(x, sigma);
    if (out.length !== x.length) throw new RangeError(`EasyCache: model returned ${out.length} values for ${x.length}`);
    const outSub = gather(out, subIndex);
    if (outPrevNorm !== null && outPrevSub && inputChange !== null) {
      rate = meanAbsDiff(outSub, outPrevSub) / inputChange;
    }
    const diff = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) diff[i] = out[i]! - x[i]!;
    cacheDiff = diff;
    xPrevSub = gather(x, subIndex);
    outPrevSub = outSub;
    outPrevNorm = meanAbs(out);
    return out;
  };

  return { model: cachedModel, stats: () => ({ skipped, total }), reset };
}

/** Where a sigma sits relative to EasyCache's window. */
export type EasyCachePhase = 'before' | 'active' | 'past';

/**
 * The EasyCache phase of each step of a schedule (the sigmas the model is called at, i.e. all but the last):
 * 'past' when sigma <= sigma(end) (plain calls), 'active' when sigma <= sigma(start), else 'before'.
 * Compared in float32 like ComfyUI. Simple/20 with the defaults: steps 0-3 before, 4-18 active, 19 past.
 */
export function easyCachePhases(
  sigmas: readonly number[],
  options: { startPercent?: number; endPercent?: number; shift?: number } = {},
): EasyCachePhase[] {
  const { startPercent = 0.15, endPercent = 0.95, shift = FLUX_DEV_SHIFT } = options;
  const start = Math.fround(percentToSigma(startPercent, shift));
  const end = Math.fround(percentToSigma(endPercent, shift));
  return sigmas.slice(0, -1).map((sigma) => {
    const s = Math.fround(sigma);
    if (!(s > end)) return 'past';
    return s <= start ? 'active' : 'before';
  });
}

/** Flat indices of x[..., ::f, ::f] for a row-major tensor of `shape`. */
function subsampleIndices(shape: readonly number[], f: number): Uint32Array {
  const h = shape[shape.length - 2]!;
  const w = shape[shape.length - 1]!;
  const outer = shape.slice(0, -2).reduce((a, d) => a * d, 1);
  const rows = Math.ceil(h / f);
  const cols = Math.ceil(w / f);
  const idx = new Uint32Array(outer * rows * cols);
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < h; r += f) for (let c = 0; c < w; c += f) idx[k++] = o * h * w + r * w + c;
  }
  return idx;
}

function gather(x: Float32Array, idx: Uint32Array): Float32Array {
  const out = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = x[idx[i]!]!;
  return out;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function meanAbs(a: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]!);
  return sum / a.length;
}
