/**
 * The 32-bit Mersenne Twister (MT19937), as PyTorch's CPU generator runs it: seeded from the low 32 bits of a
 * 64-bit seed with the standard 1812433253 recurrence, tempered output, 624-word state regenerated in one pass.
 * Its output stream equals C++ `std::mt19937`.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private index = N;

  /** `seed` is reduced to its low 32 bits, which is all torch keeps (manual_seed(2**32 + 7) == manual_seed(7)). */
  constructor(seed: number | bigint = 5489) {
    this.seed(seed);
  }

  seed(seed: number | bigint): void {
    const s = Number(BigInt.asUintN(32, BigInt(seed)));
    const st = this.state;
    st[0] = s;
    for (let i = 1; i < N; i++) {
      const prev = st[i - 1]! ^ (st[i - 1]! >>> 30);
      // 1812433253 * prev overflows 2^53 as a double; Math.imul keeps the product exact modulo 2^32.
      st[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  /** Next tempered 32-bit output, as an unsigned integer. */
  nextU32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const st = this.state;
    for (let i = 0; i < N; i++) {
      const y = (st[i]! & UPPER_MASK) | (st[(i + 1) % N]! & LOWER_MASK);
      st[i] = st[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}
