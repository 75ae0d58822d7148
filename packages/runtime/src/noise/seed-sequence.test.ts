import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { SeedSequence, uint32Words } from './seed-sequence.ts';

// numpy 1.24's own SeedSequence (scripts/make-sde-fixtures.py).
const fx = JSON.parse(readFileSync(new URL('./fixtures/brownian-tree.json', import.meta.url), 'utf8')) as {
  seedSequence: Array<{ entropy: string; spawnKey: string[]; state: number[] }>;
  seedSequencePool4: { entropyWords: number[]; poolSize: number; state: number[] };
};

describe('SeedSequence', () => {
  it('gives numpy generate_state words for torchsde-style (entropy, spawn_key, pool 24)', () => {
    for (const c of fx.seedSequence) {
      const ss = new SeedSequence(BigInt(c.entropy), c.spawnKey.map(BigInt), 24);
      expect([...ss.generateState(c.state.length)], `${c.entropy} ${c.spawnKey}`).toEqual(c.state);
    }
  });

  it('takes explicit entropy words and numpy default-size pools', () => {
    const c = fx.seedSequencePool4;
    expect([...new SeedSequence(c.entropyWords, [], c.poolSize).generateState(c.state.length)]).toEqual(c.state);
  });

  it('splits integers into little-endian uint32 words and refuses bad input', () => {
    expect(uint32Words(0)).toEqual([0]);
    expect(uint32Words(2n ** 32n + 7n)).toEqual([7, 1]);
    expect(() => uint32Words(-1)).toThrow(/non-negative/);
    expect(() => uint32Words(2 ** 60)).toThrow(/bigint/);
    expect(() => new SeedSequence([2 ** 32])).toThrow(/uint32/);
    expect(() => new SeedSequence(1, [], 2)).toThrow(/pool size/);
  });
});
