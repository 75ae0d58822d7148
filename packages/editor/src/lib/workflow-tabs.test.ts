import { describe, expect, it } from 'vitest';
import { isModified, TabsStorage, WorkflowTabs } from './workflow-tabs.ts';

const graph = (nodes: number) => JSON.stringify({ last_node_id: nodes, last_link_id: 0, nodes: Array.from({ length: nodes }, (_, i) => ({ id: i + 1, type: 'X' })), links: [], groups: [], config: {}, extra: {}, version: 0.4 });

class MemoryStorage {
  map = new Map<string, string>();
  full = false;
  getItem(k: string) { return this.map.get(k) ?? null; }
  setItem(k: string, v: string) { if (this.full) throw new Error('QuotaExceededError'); this.map.set(k, v); }
  removeItem(k: string) { this.map.delete(k); }
}

describe('WorkflowTabs', () => {
  it('opens after the active tab, activates the neighbour on close and names new tabs apart', () => {
    const tabs = new WorkflowTabs();
    const a = tabs.open({ name: tabs.freeName('Unsaved Workflow'), state: graph(0) });
    const c = tabs.open({ name: 'c', state: graph(1) });
    tabs.activate(a.id);
    const b = tabs.open({ name: tabs.freeName('Unsaved Workflow'), state: graph(0) });
    expect(tabs.tabs.map((t) => t.name)).toEqual(['Unsaved Workflow', 'Unsaved Workflow (2)', 'c']);
    expect(tabs.remove(b.id)?.id).toBe(c.id);
    expect(tabs.remove(c.id)?.id).toBe(a.id);
    expect(tabs.remove(a.id)).toBeNull();
  });

  it('counts a tab as modified when it differs from what was saved or opened, or has nodes and was never saved', () => {
    expect(isModified({ state: graph(1), saved: graph(1) })).toBe(false);
    expect(isModified({ state: graph(2), saved: graph(1) })).toBe(true);
    expect(isModified({ state: graph(0), saved: null })).toBe(false);
    expect(isModified({ state: graph(1), saved: null })).toBe(true);
  });
});

describe('TabsStorage', () => {
  it('keeps the tabs with their views and active tab, and skips unreadable graphs', () => {
    const storage = new MemoryStorage();
    const tabs = new WorkflowTabs();
    tabs.open({ name: 'a', path: 'workflows/a.json', state: graph(1), view: { scale: 2, offset: [3, 4] } });
    const b = tabs.open({ name: 'b', state: graph(2), saved: null });
    expect(new TabsStorage(storage).save(tabs.toStored())).toBe(true);
    const stored = new TabsStorage(storage).load()!;
    stored.tabs.push({ id: 'bad', name: 'bad', path: null, state: '{broken', saved: null, view: null });
    const again = new WorkflowTabs();
    expect(again.restore(stored)).toBe(true);
    expect(again.summaries()).toEqual([
      { id: tabs.tabs[0]!.id, name: 'a', path: 'workflows/a.json', modified: false },
      { id: b.id, name: 'b', path: null, modified: true },
    ]);
    expect(again.active.id).toBe(b.id);
    expect(again.tabs[0]!.view).toEqual({ scale: 2, offset: [3, 4] });
    storage.full = true;
    expect(new TabsStorage(storage).save(tabs.toStored())).toBe(false);
  });

  it('reads the single-graph autosave of earlier versions as one unsaved tab', () => {
    const storage = new MemoryStorage();
    storage.map.set('uso-studio.workflow', JSON.stringify({ name: 'old', workflow: JSON.parse(graph(1)), savedAt: 1 }));
    const stored = new TabsStorage(storage).load()!;
    expect(stored.tabs.map((t) => [t.name, t.path, t.saved])).toEqual([['old', null, null]]);
    storage.map.set('uso-studio.workflow', '{broken');
    expect(new TabsStorage(storage).load()).toBeNull();
  });
});
