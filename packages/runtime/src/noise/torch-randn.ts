/**
 * PyTorch's CPU normal sampler, reproduced: `torch.manual_seed(seed); torch.randn(shape)` (float32) and a stateful
 * generator for successive `torch.randn(shape, generator=g)` calls, as ComfyUI's prepare_noise and
 * default_noise_sampler use them.
 *
 * Two code paths, picked by element count like torch's CPU normal kernel:
 * - n >= 16: n float uniforms u = (u32 & 0xFFFFFF) / 2^24 are drawn first; then each block of 16 is turned into
 *   normals by Box-Muller pairing slot j with slot j+8. When n is not a multiple of 16, 16 fresh uniforms overwrite
 *   the last 16 slots and that (overlapping) block is transformed again.
 * - n < 16: each element is a double normal (53-bit uniforms from two u32 draws, Box-Muller, the sine half cached
 *   in the generator for the next draw), cast to float32.
 * torch evaluates log/cos/sin of the fast path with its own vectorised Cephes polynomials (avx_mathfun, compiled
 * with fused multiply-adds), not libm; cephes-f32.ts repeats those roundings, so the output is bit-identical to
 * torch's (checked over 1.5 million values). Correctly rounded log/cos/sin would differ in the last bit for ~16 %.
 */

import { logF32Torch, sincosF32Torch } from './cephes-f32.ts';
import { Mt19937 } from './mt19937.ts';

const TWO_PI_F32 = Math.fround(2 * Math.PI);
const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;
const TWO_POW_32 = 2 ** 32;

function checkShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`randn shape [${shape.join(', ')}] has a bad dimension ${d}: use non-negative integers`);
    }
    n *= d;
  }
  return n;
}

function checkSeed(seed: number | bigint): bigint {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
    throw new RangeError(`seed ${seed} is not a safe integer: pass seeds above 2^53 as a bigint`);
  }
  const s = BigInt(seed);
  if (s < -(1n << 63n) || s >= 1n << 64n) {
    throw new RangeError(`seed ${s} is outside torch's range [-2^63, 2^64 - 1]`);
  }
  return s;
}

/**
 * A CPU `torch.Generator`: one MT19937 stream plus torch's cached second Box-Muller value for double normals.
 *
 * @example
 * const g = new TorchGenerator(3407);
 * const a = g.randn([1, 16, 64, 64]); // == torch.randn(..., generator=g), first call
 * const b = g.randn([1, 16, 64, 64]); // second call continues the stream
 */
export class TorchGenerator {
  private readonly engine = new Mt19937();
  private cachedNormal: number | null = null;
  private currentSeed = 0n;

  constructor(seed: number | bigint = 67280421310721n) {
    this.manualSeed(seed);
  }

  /** Re-seeds like `generator.manual_seed(seed)`; negative seeds wrap to their 64-bit two's complement as torch does. */
  manualSeed(seed: number | bigint): this {
    this.currentSeed = BigInt.asUintN(64, checkSeed(seed));
    this.engine.seed(this.currentSeed);
    this.cachedNormal = null;
    return this;
  }

  /** The seed as torch's `initial_seed()` reports it (unsigned 64-bit). */
  initialSeed(): bigint {
    return this.currentSeed;
  }

  /** A float32 standard normal tensor of `shape`, continuing this generator's stream like `torch.randn`. */
  randn(shape: readonly number[]): Float32Array {
    const n = checkShape(shape);
    const out = new Float32Array(n);
    if (n >= 16) this.fillFast(out);
    else for (let i = 0; i < n; i++) out[i] = this.normalDouble();
    return out;
  }

  /** One uniform float in [0, 1) with 24 random bits (torch's uniform_real_distribution<float>). */
  uniformFloat(): number {
    return (this.engine.nextU32() & 0xffffff) * TWO_POW_M24;
  }

  /** One uniform double in [0, 1) with 53 random bits, from two draws (high word first). */
  uniformDouble(): number {
    const hi = this.engine.nextU32();
    const lo = this.engine.nextU32();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /** One double standard normal (torch's normal_distribution<double>, Box-Muller with the sine half cached). */
  normalDouble(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  private fillFast(out: Float32Array): void {
    const n = out.length;
    // 1. All uniforms first, in order.
    for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
    // 2. Box-Muller over whole blocks of 16.
    for (let i = 0; i + 16 <= n; i += 16) boxMuller16(out, i);
    // 3. A ragged tail: redraw the last 16 slots and transform that block again.
    if (n % 16 !== 0) {
      const start = n - 16;
      for (let i = 0; i < 16; i++) out[start + i] = this.uniformFloat();
      boxMuller16(out, start);
    }
  }
}

const sincos = new Float64Array(2);

/** In-place float32 Box-Muller of data[o..o+16): slot j (radius from 1-u) pairs with slot j+8 (angle). */
function boxMuller16(data: Float32Array, o: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = 1 - data[o + j]!; // exact in float32; maps [0,1) to (0,1] so log stays finite
    const u2 = data[o + j + 8]!;
    const radius = Math.fround(Math.sqrt(-2 * logF32Torch(u1)));
    const theta = Math.fround(TWO_PI_F32 * u2);
    sincosF32Torch(theta, sincos);
    data[o + j] = radius * sincos[1]!;
    data[o + j + 8] = radius * sincos[0]!;
  }
}

/**
 * `torch.manual_seed(seed); torch.randn(shape)` on CPU, float32, row-major.
 *
 * @example
 * torchRandn(1058487910949722n, [1, 16, 128, 128]).subarray(0, 2); // Float32Array [0.06393629, -1.3386536]
 */
export function torchRandn(seed: number | bigint, shape: readonly number[]): Float32Array {
  return new TorchGenerator(seed).randn(shape);
}
