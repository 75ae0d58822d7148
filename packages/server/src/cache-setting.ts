/**
 * The engine's result cache as a server setting: ComfyUI's default (keep the last prompt's results), an LRU by entry
 * count (ComfyUI's --cache-lru), or a RAM budget in bytes, which bounds what a long session can hold.
 */
import { lastPromptCache, lruCache, ramBudgetCache, type CachePolicy } from '@uso-studio/core';
import type { CacheSetting } from './worker-protocol.ts';

export function cachePolicyFor(setting: CacheSetting | undefined): CachePolicy {
  switch (setting?.policy) {
    case 'lru':
      return lruCache(setting.maxEntries);
    case 'ram':
      return ramBudgetCache(setting.maxBytes);
    default:
      return lastPromptCache();
  }
}

/** Reads --cache-lru / --cache-ram-mb (at most one of them). */
export function cacheSettingFromFlags(lru: number | undefined, ramMb: number | undefined): CacheSetting | undefined {
  if (lru !== undefined && ramMb !== undefined) throw new Error('Pass either --cache-lru or --cache-ram-mb, not both');
  if (lru !== undefined) return { policy: 'lru', maxEntries: lru };
  if (ramMb !== undefined) return { policy: 'ram', maxBytes: ramMb * 1024 * 1024 };
  return undefined;
}
