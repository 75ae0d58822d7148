/**
 * The open workflows as the user works on them: tabs (each with its graph, view and undo history), what the canvas
 * shows, undo and redo, saving to and opening from the server's workflows, and keeping the tabs in local storage. The
 * controller owns one and hands it the canvas and the state through a {@link SessionHost}.
 */
import type { EditorStateSink } from './editor-controller.ts';
import { Dialogs } from './dialogs.ts';
import { findMissingNodeTypes } from './formats.ts';
import type { GraphEditor, UiWorkflow } from './litegraph-adapter.ts';
import type { ObjectInfo } from './object-info.ts';
import type { ApiClient } from './api-client.ts';
import type { Toast } from './stores/app-state.svelte.ts';
import { pickDefaultTemplate } from './templates.ts';
import type { UndoHistory } from './undo-history.ts';
import type { StorageLike } from './workflow-files.ts';
import { WorkflowLibrary, workflowNameOf } from './workflow-library.ts';
import { isEmptyGraph, isModified, TabsStorage, WorkflowTabs, type View, type WorkflowTab } from './workflow-tabs.ts';

/** What the session needs from the controller. */
export interface SessionHost {
  readonly state: EditorStateSink;
  /** The canvas (throws before it is attached). */
  readonly editor: GraphEditor;
  readonly attached: boolean;
  readonly objectInfo: ObjectInfo;
  toast(kind: Toast['kind'], text: string): void;
  /** An edit settled into a new undo step (Queue (On Change) queues on it). */
  edited(): void;
}

export class WorkflowSession {
  readonly dialogs: Dialogs;
  readonly library: WorkflowLibrary;
  #host: SessionHost;
  #tabStorage: TabsStorage | null;
  #tabs = new WorkflowTabs();
  #autosaveTimer: ReturnType<typeof setTimeout> | null = null;
  #restoring = false;

  constructor(host: SessionHost, api: ApiClient, storage?: StorageLike) {
    this.#host = host;
    this.#tabStorage = storage ? new TabsStorage(storage) : null;
    this.dialogs = new Dialogs((request) => (host.state.dialog = request));
    this.library = new WorkflowLibrary(api, this.dialogs);
  }

  /** True while a tab or an undo step is being put on the canvas (its change events are not edits). */
  get restoring(): boolean {
    return this.#restoring;
  }

  /** Records the graph after a queue moved its seeds: a new undo step, but not an edit for On Change. */
  recordQueueStep(): void {
    if (this.#tabs.size) this.#undo.record(JSON.stringify(this.#host.editor.serialize()));
  }

  // ---- tabs ---------------------------------------------------------------------------------------

  /** The active tab's undo history. */
  get #undo(): UndoHistory {
    return this.#tabs.active.undo;
  }

  /**
   * Opens a workflow in a new tab, as ComfyUI does for a template, a file, a dropped PNG or a history item: nothing is
   * replaced, so nothing is lost (the previous graph stays in its tab, with its own undo history). An empty tab that was
   * never saved is reused, having nothing to lose. The view is fitted to the graph. `path` is the server path of a
   * workflow opened from the Workflows sidebar.
   */
  loadWorkflow(workflow: unknown, name = 'workflow', options: { path?: string | null } = {}): void {
    const reuse = this.#tabs.size > 0 && this.#isBlank(this.#tabs.active) ? this.#tabs.active : null;
    if (this.#tabs.size) this.#stashActive();
    const missing = safeMissing(workflow, this.#host.objectInfo);
    this.#host.editor.load(workflow as UiWorkflow, missing);
    this.#host.editor.fitView();
    const state = JSON.stringify(this.#host.editor.serialize());
    // Unsaved tabs are told apart by name (`uso-style (2)`), as ComfyUI does; a saved one is named by its file.
    if (!options.path) name = this.#tabs.freeName(name, reuse);
    if (reuse) {
      Object.assign(reuse, { name, path: options.path ?? null, state, saved: state, view: null });
      reuse.undo.reset(state);
    } else this.#tabs.open({ name, path: options.path ?? null, state, saved: state });
    this.#host.state.missingNodeTypes = missing;
    this.#host.state.validation = null;
    this.#showTabs();
    this.#scheduleAutosave();
  }

  /** A tab with nothing to lose: never saved, nothing on it. */
  #isBlank(tab: WorkflowTab): boolean {
    if (tab.path !== null) return false;
    const state = tab === this.#tabs.active && this.#host.attached ? JSON.stringify(this.#host.editor.serialize()) : tab.state;
    return isEmptyGraph(state);
  }

  /** Keeps the canvas's graph and view in the active tab before the canvas shows another one. */
  #stashActive(): void {
    if (!this.#host.attached || !this.#tabs.size) return;
    this.checkpoint();
    const tab = this.#tabs.active;
    tab.state = JSON.stringify(this.#host.editor.serialize());
    tab.view = this.#view();
  }

  #view(): View {
    const ds = this.#host.editor.canvas.ds;
    return { scale: ds.scale, offset: [ds.offset[0], ds.offset[1]] };
  }

  /** Puts a tab's graph on the canvas, with the view it had (fitted when it has none). */
  #showTab(tab: WorkflowTab): void {
    const workflow = JSON.parse(tab.state) as UiWorkflow;
    if (tab.view) ((workflow.extra ??= {}) as Record<string, unknown>).ds = tab.view;
    const missing = safeMissing(workflow, this.#host.objectInfo);
    this.#restoring = true;
    try {
      this.#host.editor.load(workflow, missing);
    } finally {
      this.#restoring = false;
    }
    if (!tab.view) this.#host.editor.fitView();
    this.#host.state.missingNodeTypes = missing;
    this.#host.state.validation = null;
    this.#showTabs();
  }

  #showTabs(): void {
    this.#host.state.tabs = this.#tabs.summaries();
    this.#host.state.activeTab = this.#tabs.active.id;
    this.#host.state.workflowName = this.#tabs.active.name;
  }

  /** Shows another open tab; the one left keeps its graph, view and undo history. */
  switchTab(id: string): void {
    if (!this.#tabs.get(id) || id === this.#tabs.active.id) return;
    this.#stashActive();
    this.#showTab(this.#tabs.activate(id));
    this.#scheduleAutosave();
  }

  /**
   * Closes a tab. One with unsaved changes asks first (save, close without saving, or cancel), as ComfyUI does.
   * Closing the last tab leaves a new empty one. Resolves with whether it closed.
   */
  async closeTab(id: string): Promise<boolean> {
    const tab = this.#tabs.get(id);
    if (!tab) return false;
    if (tab === this.#tabs.active) this.#stashActive();
    if (isModified(tab)) {
      const answer = await this.dialogs.ask({
        title: 'Save changes?', message: `${tab.name} has unsaved changes. Save them before closing?`, items: [tab.path ?? tab.name],
        buttons: [{ label: 'Save', value: 'save', kind: 'primary' }, { label: 'Close without saving', value: 'discard', kind: 'danger' }, { label: 'Cancel', value: 'cancel' }],
      });
      if (answer.choice === 'save') {
        if (!(await this.saveTab(tab))) return false;
      } else if (answer.choice !== 'discard') return false;
    }
    const wasActive = tab === this.#tabs.active;
    const next = this.#tabs.remove(id);
    if (!next) this.#openBlank();
    else if (wasActive) this.#showTab(next);
    else this.#showTabs();
    this.#scheduleAutosave();
    return true;
  }

  /**
   * Ctrl+S, as in ComfyUI: saves the active workflow to the server (`workflows/<name>.json`); one never saved there
   * asks for a name first. Resolves with whether it saved.
   */
  async save(): Promise<boolean> {
    this.#stashActive();
    return this.saveTab(this.#tabs.active);
  }

  /** Saves the active workflow under a new name (the tab then stands for the new file). */
  async saveAs(): Promise<boolean> {
    this.#stashActive();
    return this.saveTab(this.#tabs.active, { as: true });
  }

  /** Saves a tab's graph to the server; asks for a name when it has no path (or for Save As). */
  async saveTab(tab: WorkflowTab, options: { as?: boolean } = {}): Promise<boolean> {
    const workflow = JSON.parse(tab.state) as UiWorkflow;
    if (tab.view) ((workflow.extra ??= {}) as Record<string, unknown>).ds = tab.view;
    try {
      let path = options.as ? null : tab.path;
      if (path) await this.library.write(path, workflow);
      else path = await this.library.saveAs(workflow, tab.path ? workflowNameOf(tab.path) : tab.name);
      if (!path) return false;
      Object.assign(tab, { path, name: workflowNameOf(path), saved: tab.state });
      this.#host.toast('info', `Saved ${path}`);
    } catch (e) {
      this.#host.toast('error', `Could not save ${tab.name}: ${(e as Error).message}`);
      return false;
    }
    if (this.#tabs.get(tab.id)) this.#showTabs();
    this.#scheduleAutosave();
    void this.refreshLibrary();
    return true;
  }

  /** New opens an empty workflow in a new tab, as ComfyUI's New does. */
  newWorkflow(): void {
    this.#stashActive();
    this.#openBlank();
    this.#scheduleAutosave();
  }

  #openBlank(): void {
    this.#host.editor.clear();
    const state = JSON.stringify(this.#host.editor.serialize());
    this.#tabs.open({ name: this.#tabs.freeName('Unsaved Workflow'), state, saved: state });
    this.#host.state.missingNodeTypes = [];
    this.#host.state.validation = null;
    this.#showTabs();
  }

  // ---- the Workflows sidebar (saved on the server) ----------------------------------------------------------------

  /** Lists the saved workflows (when the sidebar opens, and after changes: a new user has no folder yet, a 404). */
  async refreshLibrary(): Promise<void> {
    try {
      this.#host.state.library = await this.library.list();
    } catch (e) {
      this.#host.toast('error', `Could not list saved workflows: ${(e as Error).message}`);
    }
  }

  /** Opens a saved workflow: its tab when it is open already, else a new tab. */
  async openSaved(path: string): Promise<void> {
    const open = this.#tabs.byPath(path);
    if (open) {
      this.switchTab(open.id);
      return;
    }
    try {
      const workflow = await this.library.read(path);
      this.loadWorkflow(workflow, workflowNameOf(path), { path });
    } catch (e) {
      this.#host.toast('error', `Could not open ${path}: ${(e as Error).message}`);
    }
  }

  async renameSaved(path: string): Promise<void> {
    try {
      const dest = await this.library.rename(path);
      if (!dest) return;
      const open = this.#tabs.byPath(path);
      if (open) Object.assign(open, { path: dest, name: workflowNameOf(dest) });
      this.#showTabs();
      this.#scheduleAutosave();
    } catch (e) {
      this.#host.toast('error', `Could not rename ${path}: ${(e as Error).message}`);
    }
    await this.refreshLibrary();
  }

  /** Deletes a saved workflow; a tab that shows it stays open as an unsaved workflow, so its graph is not lost. */
  async deleteSaved(path: string): Promise<void> {
    try {
      if (!(await this.library.remove(path))) return;
      const open = this.#tabs.byPath(path);
      if (open) Object.assign(open, { path: null, saved: null });
      this.#showTabs();
      this.#scheduleAutosave();
    } catch (e) {
      this.#host.toast('error', `Could not delete ${path}: ${(e as Error).message}`);
    }
    await this.refreshLibrary();
  }

  // ---- edits and undo ---------------------------------------------------------------------------------------------

  /** Called by the adapter on every graph change. */
  graphChanged(): void {
    if (this.#restoring) return;
    this.#scheduleAutosave();
  }

  /** Takes an undo snapshot when an edit settles (pointer up, key up); a new one is an edit for On Change. */
  checkpoint(): void {
    if (!this.#host.attached || this.#restoring || !this.#tabs.size) return;
    const state = JSON.stringify(this.#host.editor.serialize());
    if (!this.#undo.record(state)) return;
    this.#tabs.active.state = state;
    this.#showTabs();
    this.#host.edited();
  }

  undo(): void {
    this.checkpoint();
    const prev = this.#undo.undo();
    if (prev) this.#restore(prev);
  }

  redo(): void {
    const next = this.#undo.redo();
    if (next) this.#restore(next);
  }

  #restore(snapshot: string): void {
    this.#restoring = true;
    try {
      const workflow = JSON.parse(snapshot) as UiWorkflow;
      ((workflow.extra ??= {}) as Record<string, unknown>).ds = this.#view();
      this.#host.editor.load(workflow, safeMissing(workflow, this.#host.objectInfo));
    } finally {
      this.#restoring = false;
    }
    this.#tabs.active.state = snapshot;
    this.#showTabs();
    this.#scheduleAutosave();
  }

  /** Opens the tabs of the last visit (with their views), else the default template, else an empty graph. */
  async openInitial(): Promise<void> {
    const stored = this.#tabStorage?.load();
    if (stored && this.#tabs.restore(stored)) {
      this.#showTab(this.#tabs.active);
      return;
    }
    const template = pickDefaultTemplate(this.#host.state.templates);
    if (template) this.loadWorkflow(structuredClone(template.workflow), template.name);
    else this.#openBlank();
  }

  #scheduleAutosave(): void {
    if (!this.#tabStorage) return;
    if (this.#autosaveTimer) clearTimeout(this.#autosaveTimer);
    this.#autosaveTimer = setTimeout(() => this.flushAutosave(), 400);
  }

  /** Writes the open tabs to local storage now (the page calls it on unload). */
  flushAutosave(): void {
    if (this.#autosaveTimer) clearTimeout(this.#autosaveTimer);
    this.#autosaveTimer = null;
    if (!this.#tabStorage || !this.#host.attached || !this.#tabs.size) return;
    const active = this.#tabs.active;
    active.state = JSON.stringify(this.#host.editor.serialize());
    active.view = this.#view();
    if (!this.#tabStorage.save(this.#tabs.toStored())) this.#host.toast('error', 'Local storage is full: open tabs will not survive a reload');
  }
}

function safeMissing(workflow: unknown, info: ObjectInfo): string[] {
  if (!Object.keys(info).length) return [];
  try {
    return findMissingNodeTypes(workflow, info);
  } catch {
    return [];
  }
}
