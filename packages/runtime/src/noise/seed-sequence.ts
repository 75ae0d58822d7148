/**
 * numpy's `np.random.SeedSequence` (O'Neill's seed_seq design, 32-bit words), reproduced for the one use torchsde
 * makes of it: `SeedSequence(entropy, spawn_key=..., pool_size=...).generate_state(n)` as uint32 seeds. torchsde's
 * Brownian tree seeds every split's torch generator this way, so matching numpy word for word is what makes the
 * tree's noise equal to ComfyUI's.
 *
 * Algorithm (all arithmetic mod 2^32):
 * 1. Entropy and each spawn-key element become little-endian uint32 words (0 -> [0]); when a spawn key is present
 *    the entropy words are zero-padded to the pool size before the key words are appended.
 * 2. The pool is filled by hashing the first `poolSize` words (missing ones are 0), then every pool word is mixed
 *    into every other, then any words beyond the pool are mixed into all of them.
 * 3. generate_state cycles through the pool with a second hash.
 */

const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;

/** A non-negative integer as little-endian uint32 words, `[0]` for zero (numpy's _int_to_uint32_array). */
export function uint32Words(value: number | bigint): number[] {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`SeedSequence: ${value} is not a safe integer; pass large entropy as a bigint`);
  }
  let n = BigInt(value);
  if (n < 0n) throw new RangeError(`SeedSequence: entropy and spawn keys must be non-negative, got ${n}`);
  if (n === 0n) return [0];
  const words: number[] = [];
  while (n > 0n) {
    words.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  return words;
}

/** Hash state shared by the successive hashmix calls of one mixing pass. */
class HashConstant {
  constructor(public value: number) {}

  mix(word: number): number {
    let v = (word ^ this.value) >>> 0;
    this.value = Math.imul(this.value, MULT_A) >>> 0;
    v = Math.imul(v, this.value) >>> 0;
    return (v ^ (v >>> XSHIFT)) >>> 0;
  }
}

function mix(x: number, y: number): number {
  const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
  return (r ^ (r >>> XSHIFT)) >>> 0;
}

/**
 * @example
 * new SeedSequence(3407n, [5n, 3n], 24).generateState(4); // == np.random.SeedSequence(3407, spawn_key=(5, 3), pool_size=24).generate_state(4)
 */
export class SeedSequence {
  /** The mixed entropy pool (numpy's `.pool`). */
  readonly pool: Uint32Array;

  /**
   * @param entropy an integer, or an explicit list of uint32 words (numpy accepts both)
   * @param spawnKey numpy's spawn_key tuple
   * @param poolSize numpy's pool_size (4 by default; torchsde passes 24)
   */
  constructor(entropy: number | bigint | readonly number[], spawnKey: readonly (number | bigint)[] = [], poolSize = 4) {
    if (!Number.isInteger(poolSize) || poolSize < 4) throw new RangeError(`SeedSequence: pool size must be an integer >= 4, got ${poolSize}`);
    const run = typeof entropy === 'object' ? checkWords(entropy) : uint32Words(entropy);
    const spawn = spawnKey.flatMap((k) => uint32Words(k));
    if (spawn.length > 0) while (run.length < poolSize) run.push(0);
    this.pool = mixEntropy(poolSize, [...run, ...spawn]);
  }

  /** `generate_state(nWords)` with numpy's default uint32 dtype. */
  generateState(nWords: number): Uint32Array {
    const out = new Uint32Array(nWords);
    let hash = INIT_B;
    for (let i = 0; i < nWords; i++) {
      let v = (this.pool[i % this.pool.length]! ^ hash) >>> 0;
      hash = Math.imul(hash, MULT_B) >>> 0;
      v = Math.imul(v, hash) >>> 0;
      out[i] = (v ^ (v >>> XSHIFT)) >>> 0;
    }
    return out;
  }
}

function checkWords(words: readonly number[]): number[] {
  for (const w of words) {
    if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new RangeError(`SeedSequence: entropy word ${w} is not a uint32`);
  }
  return [...words];
}

function mixEntropy(poolSize: number, words: readonly number[]): Uint32Array {
  const pool = new Uint32Array(poolSize);
  const hash = new HashConstant(INIT_A);
  for (let i = 0; i < poolSize; i++) pool[i] = hash.mix(words[i] ?? 0);
  for (let src = 0; src < poolSize; src++) {
    for (let dst = 0; dst < poolSize; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst]!, hash.mix(pool[src]!));
    }
  }
  for (let src = poolSize; src < words.length; src++) {
    for (let dst = 0; dst < poolSize; dst++) pool[dst] = mix(pool[dst]!, hash.mix(words[src]!));
  }
  return pool;
}
