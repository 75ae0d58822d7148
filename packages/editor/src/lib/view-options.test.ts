import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW_OPTIONS, loadViewOptions, saveViewOptions } from './view-options.ts';

function memoryStorage() {
  const data = new Map<string, string>();
  return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), removeItem: (k: string) => void data.delete(k), data };
}

describe('view options', () => {
  it('round-trips through storage and falls back to the defaults', () => {
    const storage = memoryStorage();
    expect(loadViewOptions(storage)).toEqual(DEFAULT_VIEW_OPTIONS);
    saveViewOptions(storage, { minimap: true, nodeIdBadges: true });
    expect(loadViewOptions(storage)).toEqual({ minimap: true, nodeIdBadges: true });
    expect(loadViewOptions(null)).toEqual(DEFAULT_VIEW_OPTIONS);
  });

  it('ignores unreadable entries and fields of the wrong type, and survives a failing store', () => {
    const storage = memoryStorage();
    storage.data.set('uso-studio.view-options', '{not json');
    expect(loadViewOptions(storage)).toEqual(DEFAULT_VIEW_OPTIONS);
    storage.data.set('uso-studio.view-options', JSON.stringify({ minimap: 'yes', nodeIdBadges: true }));
    expect(loadViewOptions(storage)).toEqual({ minimap: DEFAULT_VIEW_OPTIONS.minimap, nodeIdBadges: true });
    const full = { ...memoryStorage(), setItem: () => { throw new Error('QuotaExceededError'); } };
    expect(() => saveViewOptions(full, { minimap: true, nodeIdBadges: false })).not.toThrow();
  });
});
