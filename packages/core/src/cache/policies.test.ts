/**
 * Policy-specific behaviour. The behaviour every policy shares (driven through the executor with the testing node
 * pack) is one suite run over all three: test/engine/cache-policies.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCacheEntry, lastPromptCache, lruCache, ramBudgetCache, type CacheEntry } from './policies.ts';

const entry = (bytes: number): CacheEntry => ({ outputs: [[new Uint8Array(bytes)]], byteSize: bytes });

describe('createCacheEntry', () => {
  it('measures outputs and UI with byteSizeOf, honouring byteSize reported by values', () => {
    const sized = { byteSize: 1000 };
    const e = createCacheEntry([[new Float32Array(10)], [sized]], { text: ['hi'] });
    expect(e.byteSize).toBeGreaterThanOrEqual(40 + 1000 + 4);
    expect(e.ui).toEqual({ text: ['hi'] });
  });

  it('counts a buffer shared by two outputs once', () => {
    const shared = new Float32Array(256);
    expect(createCacheEntry([[shared], [shared]]).byteSize).toBeLessThan(2 * shared.byteLength);
  });
});

describe('lastPromptCache', () => {
  it('drops, at the end of a prompt, every entry the prompt did not use', () => {
    const cache = lastPromptCache();
    cache.beginPrompt();
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.endPrompt(new Set(['a', 'b']));
    cache.beginPrompt();
    cache.set('c', entry(3));
    cache.endPrompt(new Set(['a', 'c']));
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.stats).toEqual({ entries: 2, bytes: 4 });
  });
});

describe('lruCache', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = lruCache(2);
    cache.set('a', entry(1));
    cache.set('b', entry(1));
    cache.get('a'); // 'b' is now the oldest
    cache.set('c', entry(1));
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.stats.entries).toBe(2);
  });

  it('keeps entries across prompts regardless of use', () => {
    const cache = lruCache(10);
    cache.set('a', entry(1));
    cache.endPrompt(new Set());
    expect(cache.get('a')).toBeDefined();
  });

  it('rejects a bad size with a message saying what it expects', () => {
    expect(() => lruCache(-1)).toThrow(/whole number >= 0/);
  });
});

describe('ramBudgetCache', () => {
  it('evicts least recently used entries to make room', () => {
    const cache = ramBudgetCache(100);
    cache.set('a', entry(40));
    cache.set('b', entry(40));
    cache.get('a');
    cache.set('c', entry(40)); // 'b' goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.stats).toEqual({ entries: 2, bytes: 80 });
  });

  it('does not store an entry larger than the whole budget', () => {
    const cache = ramBudgetCache(100);
    cache.set('a', entry(50));
    cache.set('huge', entry(101));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('replacing a key frees the old entry', () => {
    const cache = ramBudgetCache(100);
    cache.set('a', entry(60));
    cache.set('a', entry(70));
    expect(cache.stats).toEqual({ entries: 1, bytes: 70 });
  });

  it('never holds more than maxBytes, whatever the sequence of operations (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), bytes: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('end' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(op, { maxLength: 80 }), (budget, ops) => {
        const cache = ramBudgetCache(budget);
        let sum = 0;
        for (const o of ops) {
          if (o.kind === 'set') cache.set(String(o.key), entry(o.bytes));
          else if (o.kind === 'get') cache.get(String(o.key));
          else cache.endPrompt(new Set());
          expect(cache.stats.bytes).toBeLessThanOrEqual(budget);
          sum = 0;
          for (let k = 0; k <= 20; k++) sum += cache.get(String(k))?.byteSize ?? 0;
          expect(sum).toBe(cache.stats.bytes);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a bad budget', () => {
    expect(() => ramBudgetCache(Number.NaN)).toThrow(RangeError);
  });
});
