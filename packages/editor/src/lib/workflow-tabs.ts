/**
 * Open workflows as tabs, as in ComfyUI: each has its own graph, undo history, server path (null until saved: a
 * "temporary" workflow) and the state it was last saved or opened with, so it knows whether it has unsaved changes.
 * Opening a template, a file, a dropped PNG or a history item, or pressing New, opens a new tab instead of replacing
 * the graph (ComfyUI's behaviour). The tabs and their graphs are kept in local storage, so they survive a reload.
 */
import { detectWorkflowKind } from './formats.ts';
import { UndoHistory } from './undo-history.ts';
import type { StorageLike } from './workflow-files.ts';

export interface View { scale: number; offset: [number, number] }

export interface WorkflowTab {
  readonly id: string;
  name: string;
  /** The server path under the user's folder (`workflows/name.json`), or null for a workflow never saved there. */
  path: string | null;
  /** The graph as last seen (serialised UI JSON); the canvas holds the live one of the active tab. */
  state: string;
  /** The graph as last saved or opened; null for one that was never saved and did not come from anywhere. */
  saved: string | null;
  view: View | null;
  readonly undo: UndoHistory;
}

/** What the tab bar shows. */
export interface TabSummary { id: string; name: string; path: string | null; modified: boolean }

let tabCounter = 0;
const newTabId = () => `t${Date.now().toString(36)}${(++tabCounter).toString(36)}`;

/** Whether a tab's graph differs from what was last saved or opened (a never-saved tab counts once it has nodes). */
export function isModified(tab: Pick<WorkflowTab, 'state' | 'saved'>): boolean {
  if (tab.saved === null) return !isEmptyGraph(tab.state);
  return tab.state !== tab.saved;
}

export function isEmptyGraph(state: string): boolean {
  try {
    const wf = JSON.parse(state) as { nodes?: unknown[]; groups?: unknown[] };
    return !wf.nodes?.length && !wf.groups?.length;
  } catch {
    return true;
  }
}

export class WorkflowTabs {
  #tabs: WorkflowTab[] = [];
  #activeId = '';

  get tabs(): readonly WorkflowTab[] {
    return this.#tabs;
  }

  get active(): WorkflowTab {
    const tab = this.#tabs.find((t) => t.id === this.#activeId);
    if (!tab) throw new Error('WorkflowTabs: no tab is open');
    return tab;
  }

  get size(): number {
    return this.#tabs.length;
  }

  get(id: string): WorkflowTab | undefined {
    return this.#tabs.find((t) => t.id === id);
  }

  byPath(path: string): WorkflowTab | undefined {
    return this.#tabs.find((t) => t.path === path);
  }

  /** Opens a tab after the active one and makes it active. */
  open(init: { name: string; path?: string | null; state: string; saved?: string | null; view?: View | null }): WorkflowTab {
    const tab: WorkflowTab = {
      id: newTabId(), name: init.name, path: init.path ?? null, state: init.state,
      saved: init.saved === undefined ? init.state : init.saved, view: init.view ?? null, undo: new UndoHistory(),
    };
    tab.undo.reset(init.state);
    const at = this.#tabs.findIndex((t) => t.id === this.#activeId);
    this.#tabs.splice(at < 0 ? this.#tabs.length : at + 1, 0, tab);
    this.#activeId = tab.id;
    return tab;
  }

  activate(id: string): WorkflowTab {
    const tab = this.get(id);
    if (!tab) throw new Error(`WorkflowTabs: no tab ${id}`);
    this.#activeId = id;
    return tab;
  }

  /** Removes a tab; when it was active, its right neighbour (else the left one) becomes active. Returns the new active tab, or null when none is left. */
  remove(id: string): WorkflowTab | null {
    const at = this.#tabs.findIndex((t) => t.id === id);
    if (at < 0) return this.#tabs.length ? this.active : null;
    this.#tabs.splice(at, 1);
    if (this.#activeId === id) this.#activeId = this.#tabs[Math.min(at, this.#tabs.length - 1)]?.id ?? '';
    return this.#tabs.length ? this.active : null;
  }

  summaries(): TabSummary[] {
    return this.#tabs.map((t) => ({ id: t.id, name: t.name, path: t.path, modified: isModified(t) }));
  }

  /** A name no open tab (but `except`) has: `Unsaved Workflow`, then `Unsaved Workflow (2)`, ... */
  freeName(base: string, except?: WorkflowTab | null): string {
    const names = new Set(this.#tabs.filter((t) => t !== except).map((t) => t.name));
    if (!names.has(base)) return base;
    for (let i = 2; ; i++) if (!names.has(`${base} (${i})`)) return `${base} (${i})`;
  }

  // ---- local persistence ------------------------------------------------------------------------------------------

  toStored(): StoredTabs {
    return {
      active: this.#activeId,
      tabs: this.#tabs.map((t) => ({ id: t.id, name: t.name, path: t.path, state: t.state, saved: t.saved, view: t.view })),
    };
  }

  /** Reopens stored tabs (undo histories start over, as after a reload in ComfyUI); false when nothing usable was stored. */
  restore(stored: StoredTabs): boolean {
    const tabs: WorkflowTab[] = [];
    for (const t of stored.tabs) {
      let graph: unknown;
      try {
        graph = JSON.parse(t.state);
      } catch {
        continue;
      }
      if (detectWorkflowKind(graph) !== 'ui') continue;
      const undo = new UndoHistory();
      undo.reset(t.state);
      tabs.push({ id: t.id, name: t.name, path: t.path, state: t.state, saved: t.saved, view: t.view, undo });
    }
    if (!tabs.length) return false;
    this.#tabs = tabs;
    this.#activeId = tabs.some((t) => t.id === stored.active) ? stored.active : tabs[0]!.id;
    return true;
  }
}

export interface StoredTabs {
  active: string;
  tabs: { id: string; name: string; path: string | null; state: string; saved: string | null; view: View | null }[];
}

/** The open tabs in local storage (`uso-studio.tabs`); reads the single-graph autosave of earlier versions once. */
export class TabsStorage {
  static readonly KEY = 'uso-studio.tabs';
  static readonly LEGACY_KEY = 'uso-studio.workflow';
  #storage: StorageLike;

  constructor(storage: StorageLike) {
    this.#storage = storage;
  }

  /** Saves; a full storage quota is reported as false rather than thrown. */
  save(tabs: StoredTabs): boolean {
    try {
      this.#storage.setItem(TabsStorage.KEY, JSON.stringify(tabs));
      return true;
    } catch {
      return false;
    }
  }

  load(): StoredTabs | null {
    const text = this.#storage.getItem(TabsStorage.KEY);
    if (text) {
      try {
        const stored = JSON.parse(text) as StoredTabs;
        if (stored && Array.isArray(stored.tabs)) return stored;
      } catch {
        // Unreadable: fall through to the older autosave.
      }
    }
    const legacy = this.#storage.getItem(TabsStorage.LEGACY_KEY);
    if (!legacy) return null;
    try {
      const saved = JSON.parse(legacy) as { name?: string; workflow?: unknown };
      if (detectWorkflowKind(saved.workflow) !== 'ui') return null;
      const ds = (saved.workflow as { extra?: { ds?: View } }).extra?.ds ?? null;
      return { active: 'legacy', tabs: [{ id: 'legacy', name: String(saved.name ?? 'workflow'), path: null, state: JSON.stringify(saved.workflow), saved: null, view: ds }] };
    } catch {
      return null;
    }
  }
}
