/**
 * How results are kept, apart from how their keys are computed (see ./cache-keys). Each policy stores whole node
 * results by key; the executor pins what a running prompt needs, so a policy may drop any entry at any time.
 */
import { byteSizeOf } from '../value-size.ts';

/** One node's stored result: per output slot the list of values (one per run for list inputs), plus its UI output. */
export interface CacheEntry {
  readonly outputs: ReadonlyArray<readonly unknown[]>;
  readonly ui?: Record<string, unknown>;
  /** Bytes held by outputs and UI, measured once when the entry is made. */
  readonly byteSize: number;
}

/** Makes an entry, measuring its size with `byteSizeOf` (values may report their own `byteSize`). */
export function createCacheEntry(outputs: ReadonlyArray<readonly unknown[]>, ui?: Record<string, unknown>): CacheEntry {
  const seen = new Set<object>();
  const byteSize = byteSizeOf(outputs, seen) + (ui ? byteSizeOf(ui, seen) : 0);
  return ui ? { outputs, ui, byteSize } : { outputs, byteSize };
}

/** A pluggable keeping policy. Keys are opaque strings computed elsewhere. */
export interface CachePolicy {
  get(key: string): CacheEntry | undefined;
  set(key: string, entry: CacheEntry): void;
  /** Called when a prompt starts. */
  beginPrompt(): void;
  /** Called when a prompt ends with the keys of every node in it, so a 'last prompt' policy can evict the rest. */
  endPrompt(usedKeys: ReadonlySet<string>): void;
  clear(): void;
  readonly stats: { entries: number; bytes: number };
}

/** Shared bookkeeping: a Map in least-recently-used-first order plus a running byte total. */
class EntryStore {
  readonly map = new Map<string, CacheEntry>();
  bytes = 0;

  get(key: string, touch: boolean): CacheEntry | undefined {
    const entry = this.map.get(key);
    if (entry && touch) {
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    this.delete(key);
    this.map.set(key, entry);
    this.bytes += entry.byteSize;
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (!old) return;
    this.map.delete(key);
    this.bytes -= old.byteSize;
  }

  /** Drops the least recently used entry; false when empty. */
  evictOldest(): boolean {
    const oldest = this.map.keys().next();
    if (oldest.done) return false;
    this.delete(oldest.value);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  get stats(): { entries: number; bytes: number } {
    return { entries: this.map.size, bytes: this.bytes };
  }
}

/**
 * ComfyUI's default: keeps exactly the entries the last prompt used. Re-queueing a prompt is free; anything the new
 * prompt no longer references is dropped when it ends.
 */
export function lastPromptCache(): CachePolicy {
  const store = new EntryStore();
  return {
    get: (key) => store.get(key, false),
    set: (key, entry) => store.set(key, entry),
    beginPrompt() {},
    endPrompt(usedKeys) {
      for (const key of [...store.map.keys()]) if (!usedKeys.has(key)) store.delete(key);
    },
    clear: () => store.clear(),
    get stats() {
      return store.stats;
    },
  };
}

/** Keeps the `maxEntries` most recently used entries across prompts. */
export function lruCache(maxEntries: number): CachePolicy {
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new RangeError(`lruCache(maxEntries): expected a whole number >= 0, got ${maxEntries}`);
  }
  return recencyPolicy((store, key, entry) => {
    if (maxEntries === 0) return;
    store.set(key, entry);
    while (store.map.size > maxEntries) store.evictOldest();
  });
}

/**
 * Keeps the most recently used entries that fit in `maxBytes`; never holds more. An entry larger than the whole budget
 * is not stored (it still flows through the running prompt, which pins its own inputs).
 */
export function ramBudgetCache(maxBytes: number): CachePolicy {
  if (!(maxBytes >= 0) || !Number.isFinite(maxBytes)) {
    throw new RangeError(`ramBudgetCache(maxBytes): expected a finite number of bytes >= 0, got ${maxBytes}`);
  }
  return recencyPolicy((store, key, entry) => {
    store.delete(key);
    if (entry.byteSize > maxBytes) return;
    while (store.bytes + entry.byteSize > maxBytes && store.evictOldest()) {
      // evict until the new entry fits
    }
    store.set(key, entry);
  });
}

/**
 * A policy that keeps entries across prompts in least-recently-used order (a hit refreshes an entry); `set` alone
 * decides what to evict to make room.
 */
function recencyPolicy(set: (store: EntryStore, key: string, entry: CacheEntry) => void): CachePolicy {
  const store = new EntryStore();
  return {
    get: (key) => store.get(key, true),
    set: (key, entry) => set(store, key, entry),
    beginPrompt() {},
    endPrompt() {},
    clear: () => store.clear(),
    get stats() {
      return store.stats;
    },
  };
}
