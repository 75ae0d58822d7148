import { describe, expect, it } from 'vitest';
import { createCacheEntry } from '@uso-studio/core';
import { cachePolicyFor, cacheSettingFromFlags } from './cache-setting.ts';

describe('cache setting', () => {
  it('builds the policy the setting names', () => {
    // LRU by entries: a third entry evicts the first.
    const lru = cachePolicyFor({ policy: 'lru', maxEntries: 2 });
    lru.beginPrompt();
    for (const key of ['a', 'b', 'c']) lru.set(key, createCacheEntry([[1]]));
    lru.endPrompt(new Set(['a', 'b', 'c']));
    expect(lru.stats.entries).toBe(2);
    expect(lru.get('a')).toBeUndefined();
    // RAM budget: never more bytes than the budget.
    const ram = cachePolicyFor({ policy: 'ram', maxBytes: 10_000 });
    ram.beginPrompt();
    for (const key of ['a', 'b', 'c']) ram.set(key, createCacheEntry([[new Float32Array(1000)]]));
    ram.endPrompt(new Set(['a', 'b', 'c']));
    expect(ram.stats.bytes).toBeLessThanOrEqual(10_000);
    expect(ram.stats.entries).toBe(2);
    // Default: ComfyUI's, keeping only what the last prompt used.
    const last = cachePolicyFor(undefined);
    last.beginPrompt();
    last.set('a', createCacheEntry([[1]]));
    last.endPrompt(new Set(['a']));
    last.beginPrompt();
    last.endPrompt(new Set());
    expect(last.stats.entries).toBe(0);
  });

  it('reads the flags', () => {
    expect(cacheSettingFromFlags(undefined, undefined)).toBeUndefined();
    expect(cacheSettingFromFlags(3, undefined)).toEqual({ policy: 'lru', maxEntries: 3 });
    expect(cacheSettingFromFlags(undefined, 1)).toEqual({ policy: 'ram', maxBytes: 1024 * 1024 });
    expect(() => cacheSettingFromFlags(1, 1)).toThrow(/not both/);
  });
});
