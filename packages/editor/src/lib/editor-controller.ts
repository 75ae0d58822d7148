/**
 * Wires the editor together: the server's API and WebSocket, the litegraph canvas (through the adapter), files,
 * autosave and undo. Components call its methods; it writes what they show into an {@link EditorStateSink}.
 */
import { ApiClient, PromptRejectedError, type HistoryEntry, type ImageRef } from './api-client.ts';
import { AutoQueue, type RunMode } from './auto-queue.ts';
import { reduceExecution, type ExecutionState } from './execution-state.ts';
import { apiToUi, findMissingNodeTypes, MissingNodeTypesError, uiToApi } from './formats.ts';
import type { LibraryDrop } from './library-drops.ts';
import type { GraphEditor, SearchRequest, UiWorkflow } from './litegraph-adapter.ts';
import { loaderFor } from './model-loaders.ts';
import type { ObjectInfo } from './object-info.ts';
import type { ValidationReport, Toast } from './stores/app-state.svelte.ts';
import { bundledTemplates, pickDefaultTemplate, type Template } from './templates.ts';
import { imageRefOfInputName } from './mask-painting.ts';
import type { UndoHistory } from './undo-history.ts';
import type { ViewOptions } from './view-options.ts';
import { Dialogs, type DialogRequest } from './dialogs.ts';
import { EditorSettings, type SettingsSink } from './editor-settings.ts';
import { downloadJson, dropKindOf, fileNameFor, pickFile, readWorkflowFile, type StorageLike } from './workflow-files.ts';
import { WorkflowLibrary, workflowNameOf, type LibraryEntry } from './workflow-library.ts';
import { isEmptyGraph, isModified, TabsStorage, WorkflowTabs, type TabSummary, type View, type WorkflowTab } from './workflow-tabs.ts';
import { WsClient, type ConnectionState, type ServerMessage, type SocketFactory } from './ws-client.ts';
import type { PreviewFrame } from './binary-frames.ts';
import type { QueueItem } from './api-client.ts';

/** What the controller writes; the runes store implements it, tests pass a plain object. */
export interface EditorStateSink extends SettingsSink {
  connection: ConnectionState;
  reconnectAttempt: number;
  workflowName: string;
  batchCount: number;
  runMode: RunMode;
  selectedCount: number;
  graphPath: string[];
  execution: ExecutionState;
  queue: { running: QueueItem[]; pending: QueueItem[] };
  history: HistoryEntry[];
  templates: Template[];
  missingNodeTypes: string[];
  validation: ValidationReport | null;
  previewUrl: string | null;
  search: SearchRequest | null;
  toasts: Toast[];
  nodeTypeCount: number;
  ready: boolean;
  /** The open workflow tabs and the active one. */
  tabs: TabSummary[];
  activeTab: string;
  /** The question on screen (closing a changed tab, a name to save as...), or null. */
  dialog: DialogRequest | null;
  /** Workflows saved on the server (the Workflows sidebar). */
  library: LibraryEntry[];
  viewOptions: ViewOptions;
}

export interface ControllerOptions {
  api?: ApiClient;
  /** For tests: the WebSocket constructor. */
  createSocket?: SocketFactory;
  storage?: StorageLike;
  /** The page location, for the WebSocket URL. */
  location?: { protocol: string; host: string };
  templates?: Template[];
  clientId?: string;
}

let toastId = 0;

export class EditorController {
  readonly api: ApiClient;
  readonly ws: WsClient;
  readonly state: EditorStateSink;
  objectInfo: ObjectInfo = {};
  /** Binary preview frames seen so far (tests read it). */
  previewFramesReceived = 0;
  /** Text messages seen so far, by type (tests read it). */
  readonly messageCounts: Record<string, number> = {};
  /** Queue (Instant) and Queue (On Change); see auto-queue.ts. */
  readonly autoQueue = new AutoQueue(
    async () => (await this.queue()).length > 0,
    (reason) => {
      this.state.runMode = 'once';
      this.toast('info', `Run mode is back to Queue: ${reason}.`);
    },
  );
  readonly dialogs: Dialogs;
  /** Settings from the server's /settings, applied to the canvas; the keymap. */
  readonly settings: EditorSettings;
  readonly library: WorkflowLibrary;
  #editor: GraphEditor | null = null;
  #tabStorage: TabsStorage | null;
  #tabs = new WorkflowTabs();
  #totals = new Map<string, number>();
  #autosaveTimer: ReturnType<typeof setTimeout> | null = null;
  #previewUrl: string | null = null;
  #restoring = false;
  #wasOpen = false;
  #runtimeErrorShown = false;

  constructor(state: EditorStateSink, options: ControllerOptions = {}) {
    this.state = state;
    this.api = options.api ?? new ApiClient();
    const clientId = options.clientId ?? randomId();
    const location = options.location ?? globalThis.location;
    this.ws = new WsClient({ url: this.api.wsUrl(location), clientId, ...(options.createSocket ? { createSocket: options.createSocket } : {}) });
    this.#tabStorage = options.storage ? new TabsStorage(options.storage) : null;
    this.dialogs = new Dialogs((request) => (state.dialog = request));
    this.library = new WorkflowLibrary(this.api, this.dialogs);
    this.settings = new EditorSettings(this.api, state);
    state.templates = options.templates ?? bundledTemplates();
  }

  get editor(): GraphEditor {
    if (!this.#editor) throw new Error('EditorController: no canvas yet; call attach() from the canvas component first');
    return this.#editor;
  }

  /** Connects the canvas (created by the canvas component) and loads node types and the first workflow. */
  async attach(editor: GraphEditor): Promise<void> {
    this.#editor = editor;
    this.ws.onState((s, attempt) => this.#onConnection(s, attempt));
    this.ws.onMessage((m) => this.#onMessage(m));
    this.ws.connect();
    const settings = this.settings.load(editor).catch((e: Error) => this.toast('error', `Could not load settings: ${e.message}`));
    try {
      await this.refreshNodeTypes();
    } catch (e) {
      this.toast('error', `Could not load node types: ${(e as Error).message}`);
    }
    await settings;
    await this.#loadInitialWorkflow();
    this.state.ready = true;
    // The benchmark reads this: navigation start to an interactive canvas with the first workflow.
    globalThis.performance?.mark?.('uso-editor-ready');
    void this.refreshQueue();
    void this.refreshHistory();
  }

  detach(): void {
    this.ws.close();
    this.#editor?.destroy();
    this.#editor = null;
  }

  // ---- node types ---------------------------------------------------------------------------------------------

  /** Fetches /object_info and (re)registers node classes; combos on the canvas get the new lists. */
  async refreshNodeTypes(): Promise<void> {
    const info = await this.api.objectInfo();
    this.objectInfo = info;
    if (this.state.nodeTypeCount === 0) this.editor.registerNodeTypes(info);
    else this.editor.refreshCombos(info);
    this.state.nodeTypeCount = Object.keys(info).length;
  }

  // ---- workflows and tabs ---------------------------------------------------------------------------------------

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
    const missing = safeMissing(workflow, this.objectInfo);
    this.editor.load(workflow as UiWorkflow, missing);
    this.editor.fitView();
    const state = JSON.stringify(this.editor.serialize());
    // Unsaved tabs are told apart by name (`uso-style (2)`), as ComfyUI does; a saved one is named by its file.
    if (!options.path) name = this.#tabs.freeName(name, reuse);
    if (reuse) {
      Object.assign(reuse, { name, path: options.path ?? null, state, saved: state, view: null });
      reuse.undo.reset(state);
    } else this.#tabs.open({ name, path: options.path ?? null, state, saved: state });
    this.state.missingNodeTypes = missing;
    this.state.validation = null;
    this.#showTabs();
    this.#scheduleAutosave();
  }

  /** A tab with nothing to lose: never saved, nothing on it. */
  #isBlank(tab: WorkflowTab): boolean {
    if (tab.path !== null) return false;
    const state = tab === this.#tabs.active && this.#editor ? JSON.stringify(this.#editor.serialize()) : tab.state;
    return isEmptyGraph(state);
  }

  /** Keeps the canvas's graph and view in the active tab before the canvas shows another one. */
  #stashActive(): void {
    if (!this.#editor || !this.#tabs.size) return;
    this.checkpoint();
    const tab = this.#tabs.active;
    tab.state = JSON.stringify(this.#editor.serialize());
    tab.view = this.#view();
  }

  #view(): View {
    const ds = this.editor.canvas.ds;
    return { scale: ds.scale, offset: [ds.offset[0], ds.offset[1]] };
  }

  /** Puts a tab's graph on the canvas, with the view it had (fitted when it has none). */
  #showTab(tab: WorkflowTab): void {
    const workflow = JSON.parse(tab.state) as UiWorkflow;
    if (tab.view) ((workflow.extra ??= {}) as Record<string, unknown>).ds = tab.view;
    const missing = safeMissing(workflow, this.objectInfo);
    this.#restoring = true;
    try {
      this.editor.load(workflow, missing);
    } finally {
      this.#restoring = false;
    }
    if (!tab.view) this.editor.fitView();
    this.state.missingNodeTypes = missing;
    this.state.validation = null;
    this.#showTabs();
  }

  #showTabs(): void {
    this.state.tabs = this.#tabs.summaries();
    this.state.activeTab = this.#tabs.active.id;
    this.state.workflowName = this.#tabs.active.name;
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

  loadTemplate(template: Template): void {
    this.loadWorkflow(structuredClone(template.workflow), template.name);
  }

  /** Reads a dropped or picked file: ComfyUI JSON, an API prompt, or a PNG with metadata. */
  async openFile(file: File): Promise<void> {
    try {
      const opened = await readWorkflowFile(file);
      if (opened.kind === 'ui') this.loadWorkflow(opened.workflow, opened.name);
      else this.loadWorkflow(apiToUi(opened.prompt as never, this.objectInfo), opened.name);
    } catch (e) {
      this.toast('error', (e as Error).message);
    }
  }

  /**
   * A file dropped on the canvas at a page position. Workflow files (JSON, a PNG with a workflow or prompt) open as
   * `openFile` does; a plain image (PNG without them, JPEG, WebP) is uploaded (POST /upload/image) and shown on the
   * LoadImage node it was dropped on, or on a new LoadImage node at the drop point, as in ComfyUI.
   */
  async dropFile(file: File, clientPos?: [number, number] | null): Promise<void> {
    if ((await dropKindOf(file)) === 'workflow') {
      await this.openFile(file);
      return;
    }
    try {
      const name = await this.uploadImage(file);
      const node = this.editor.placeInputImage(name, clientPos);
      if (!node) this.toast('error', `Uploaded ${name}, but there is no LoadImage node type to show it`);
      this.checkpoint();
    } catch (e) {
      this.toast('error', `Could not upload ${file.name}: ${(e as Error).message}`);
    }
  }

  /** Ctrl+O. */
  async open(): Promise<void> {
    const file = await pickFile();
    if (file) await this.openFile(file);
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
      this.toast('info', `Saved ${path}`);
    } catch (e) {
      this.toast('error', `Could not save ${tab.name}: ${(e as Error).message}`);
      return false;
    }
    if (this.#tabs.get(tab.id)) this.#showTabs();
    this.#scheduleAutosave();
    void this.refreshLibrary();
    return true;
  }

  /** Downloads the workflow in ComfyUI's UI format (Export; Ctrl+S saves to the server). */
  exportWorkflow(): void {
    downloadJson(fileNameFor(this.state.workflowName), this.editor.serialize());
  }

  /** Downloads the API prompt (what Queue sends). */
  exportApi(): void {
    const prompt = this.#toApi();
    if (prompt) downloadJson(fileNameFor(this.state.workflowName, true), prompt);
  }

  /** New opens an empty workflow in a new tab, as ComfyUI's New does. */
  newWorkflow(): void {
    this.#stashActive();
    this.#openBlank();
    this.#scheduleAutosave();
  }

  #openBlank(): void {
    this.editor.clear();
    const state = JSON.stringify(this.editor.serialize());
    this.#tabs.open({ name: this.#tabs.freeName('Unsaved Workflow'), state, saved: state });
    this.state.missingNodeTypes = [];
    this.state.validation = null;
    this.#showTabs();
  }

  // ---- the Workflows sidebar (saved on the server) ----------------------------------------------------------------

  /** Lists the saved workflows (when the sidebar opens, and after changes: a new user has no folder yet, a 404). */
  async refreshLibrary(): Promise<void> {
    try {
      this.state.library = await this.library.list();
    } catch (e) {
      this.toast('error', `Could not list saved workflows: ${(e as Error).message}`);
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
      this.toast('error', `Could not open ${path}: ${(e as Error).message}`);
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
      this.toast('error', `Could not rename ${path}: ${(e as Error).message}`);
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
      this.toast('error', `Could not delete ${path}: ${(e as Error).message}`);
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
    if (!this.#editor || this.#restoring || !this.#tabs.size) return;
    const state = JSON.stringify(this.#editor.serialize());
    if (!this.#undo.record(state)) return;
    this.#tabs.active.state = state;
    this.#showTabs();
    this.autoQueue.edited();
  }

  setRunMode(mode: RunMode): void {
    this.autoQueue.mode = mode;
    this.state.runMode = mode;
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
      this.editor.load(workflow, safeMissing(workflow, this.objectInfo));
    } finally {
      this.#restoring = false;
    }
    this.#tabs.active.state = snapshot;
    this.#showTabs();
    this.#scheduleAutosave();
  }

  /** The tabs of the last visit (with their views), else the default template, else an empty graph. */
  async #loadInitialWorkflow(): Promise<void> {
    const stored = this.#tabStorage?.load();
    if (stored && this.#tabs.restore(stored)) {
      this.#showTab(this.#tabs.active);
      return;
    }
    const template = pickDefaultTemplate(this.state.templates);
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
    if (!this.#tabStorage || !this.#editor || !this.#tabs.size) return;
    const active = this.#tabs.active;
    active.state = JSON.stringify(this.#editor.serialize());
    active.view = this.#view();
    if (!this.#tabStorage.save(this.#tabs.toStored())) this.toast('error', 'Local storage is full: open tabs will not survive a reload');
  }

  // ---- queue --------------------------------------------------------------------------------------------------

  /** Ctrl+Enter: queues the graph `batchCount` times; seeds move on after each, as in ComfyUI. */
  async queue(options: { front?: boolean; batchCount?: number } = {}): Promise<string[]> {
    const count = Math.max(1, Math.floor(options.batchCount ?? this.state.batchCount));
    const ids: string[] = [];
    this.editor.setNodeErrors(new Map());
    this.state.validation = null;
    const previewMethod = this.settings.previewMethod;
    for (let i = 0; i < count; i++) {
      const workflow = this.editor.serialize();
      const prompt = this.#toApi(workflow);
      if (!prompt) break;
      // The prompt id is chosen here (ComfyUI's POST /prompt takes one) and its node total recorded before the POST:
      // on an idle queue `execution_start` can arrive before the POST's reply.
      const promptId = newPromptId();
      const total = Object.keys(prompt).length;
      this.#totals.set(promptId, total);
      try {
        const res = await this.api.queuePrompt({
          // preview_method: step previews are asked per prompt as ComfyUI's front end does, from its setting
          // Comfy.Execution.PreviewMethod ('default' sends none, leaving it to the server, whose default is none).
          prompt, prompt_id: promptId, client_id: this.ws.clientId, extra_data: { extra_pnginfo: { workflow }, ...(previewMethod ? { preview_method: previewMethod } : {}) }, ...(options.front ? { front: true } : {}),
        });
        if (res.prompt_id !== promptId) this.#recordTotal(res.prompt_id, total);
        ids.push(res.prompt_id);
        if (res.node_errors && Object.keys(res.node_errors).length) this.#showNodeErrors('Some outputs failed validation', res.node_errors);
      } catch (e) {
        this.#totals.delete(promptId);
        if (e instanceof PromptRejectedError) {
          this.#showNodeErrors(e.message, e.nodeErrors);
          this.toast('error', `Prompt rejected: ${e.message}`);
        } else this.toast('error', `Queue failed: ${(e as Error).message}`);
        break;
      }
      this.editor.applyControlAfterGenerate();
    }
    // The seed step is the queue's doing, not an edit: record it here so On Change does not take it for one.
    if (ids.length) this.#undo.record(JSON.stringify(this.editor.serialize()));
    void this.refreshQueue();
    return ids;
  }

  /** A server that chose its own prompt id: record the total under it, and give it to a run already started. */
  #recordTotal(promptId: string, total: number): void {
    this.#totals.set(promptId, total);
    const execution = this.state.execution;
    if (execution.promptId === promptId && execution.totalNodes === 0) this.state.execution = { ...execution, totalNodes: total };
  }

  #toApi(workflow: UiWorkflow = this.editor.serialize()): Record<string, unknown> | null {
    try {
      return uiToApi(workflow, this.objectInfo).prompt as Record<string, unknown>;
    } catch (e) {
      if (e instanceof MissingNodeTypesError) {
        this.state.missingNodeTypes = [...e.types];
        this.toast('error', e.message);
      } else this.toast('error', `Cannot convert the workflow: ${(e as Error).message}`);
      return null;
    }
  }

  #showNodeErrors(message: string, nodeErrors: Record<string, { errors: { message: string; details: string }[]; class_type: string }>): void {
    const marks = new Map<string, string[]>();
    const nodes: ValidationReport['nodes'] = [];
    for (const [id, entry] of Object.entries(nodeErrors)) {
      const messages = entry.errors.map((e) => (e.details ? `${e.message}: ${e.details}` : e.message));
      marks.set(id, messages);
      nodes.push({ id, title: this.editor.nodeTitle(id) ?? entry.class_type, classType: entry.class_type, messages });
    }
    this.editor.setNodeErrors(marks);
    this.state.validation = { message, nodes };
  }

  async refreshQueue(): Promise<void> {
    try {
      this.state.queue = await this.api.getQueue();
    } catch {
      // The connection indicator already says the server is away.
    }
  }

  async refreshHistory(): Promise<void> {
    try {
      this.state.history = await this.api.getHistory(64);
    } catch {
      // As above.
    }
  }

  async cancel(promptId: string): Promise<void> {
    const running = this.state.queue.running.some((q) => q[1] === promptId);
    if (running) await this.api.interrupt(promptId);
    else await this.api.cancelPending([promptId]);
    await this.refreshQueue();
  }

  async clearQueue(): Promise<void> {
    await this.api.clearQueue();
    await this.refreshQueue();
  }

  async interrupt(): Promise<void> {
    await this.api.interrupt();
  }

  async clearHistory(): Promise<void> {
    await this.api.clearHistory();
    await this.refreshHistory();
  }

  /** Reopens the workflow a history entry ran. */
  openHistory(entry: HistoryEntry): void {
    const extra = entry.prompt[3] as { extra_pnginfo?: { workflow?: unknown } } | undefined;
    const workflow = extra?.extra_pnginfo?.workflow;
    if (workflow) this.loadWorkflow(structuredClone(workflow), `history ${entry.promptId.slice(0, 8)}`);
    else this.loadWorkflow(apiToUi(entry.prompt[2] as never, this.objectInfo), `history ${entry.promptId.slice(0, 8)}`);
  }

  imageUrl(ref: ImageRef, preview = false): string {
    return this.api.viewUrl(ref, preview);
  }

  async uploadImage(file: File): Promise<string> {
    const res = await this.api.uploadImage(file, file.name);
    const name = res.subfolder ? `${res.subfolder}/${res.name}` : res.name;
    void this.refreshNodeTypes().catch(() => undefined);
    return name;
  }

  inputImageUrl(name: string): string {
    return this.api.viewUrl(imageRefOfInputName(name));
  }

  /**
   * Stores a painted mask for the input picture `imageName` (ComfyUI's clipspace convention) and returns the name
   * LoadImage should now read: `clipspace/<file> [input]`.
   */
  async uploadMask(mask: Blob, imageName: string): Promise<string> {
    const res = await this.api.uploadMask(mask, `clipspace-mask-${Date.now()}.png`, imageRefOfInputName(imageName));
    void this.refreshNodeTypes().catch(() => undefined);
    return `${res.subfolder ? `${res.subfolder}/` : ''}${res.name} [${res.type || 'input'}]`;
  }

  // ---- server messages ----------------------------------------------------------------------------------------

  #onConnection(s: ConnectionState, attempt: number): void {
    this.state.connection = s;
    this.state.reconnectAttempt = attempt;
    if (s === 'open') {
      if (this.#wasOpen) {
        void this.refreshQueue();
        void this.refreshHistory();
      }
      this.#wasOpen = true;
    }
  }

  #onMessage(msg: ServerMessage): void {
    if (msg.type === 'preview_image') {
      this.#showPreview(msg.data as PreviewFrame);
      return;
    }
    this.messageCounts[msg.type] = (this.messageCounts[msg.type] ?? 0) + 1;
    const data = msg.data as Record<string, unknown>;
    const before = this.state.execution;
    const after = reduceExecution(before, { type: msg.type, data }, this.#totals);
    this.state.execution = after;
    const editor = this.#editor;
    if (!editor) return;
    switch (msg.type) {
      case 'status': {
        void this.refreshQueue();
        const remaining = (data.status as { exec_info?: { queue_remaining?: number } } | undefined)?.exec_info?.queue_remaining;
        if (typeof remaining === 'number') this.autoQueue.queueSize(remaining);
        break;
      }
      case 'execution_start':
        editor.clearExecution();
        // A runtime error belongs to its prompt; validation marks stay until the next queue (which clears them).
        if (this.#runtimeErrorShown) editor.setNodeErrors(new Map());
        this.#runtimeErrorShown = false;
        void this.refreshQueue();
        break;
      case 'executing':
        if (before.runningNode && before.runningNode !== after.runningNode) editor.setNodeProgress(before.runningNode, null);
        editor.setRunningNode(after.runningNode);
        if (after.runningNode === null) {
          editor.clearExecution();
          this.#clearPreview();
          void this.refreshQueue();
          void this.refreshHistory();
        }
        break;
      case 'progress': {
        const node = String(data.node ?? after.runningNode ?? '');
        const p = after.nodeProgress[node];
        if (node && p) editor.setNodeProgress(node, p.value / p.max);
        break;
      }
      case 'executed': {
        const node = String(data.display_node ?? data.node);
        const images = after.outputs[node];
        if (images && images !== before.outputs[node]) editor.setNodeImages(node, images.map((r) => this.imageUrl(r)));
        break;
      }
      case 'execution_error': {
        const err = after.error;
        if (err) {
          this.#runtimeErrorShown = true;
          // The message shows once, on the error card (Notices); the node gets the red outline only, so no box
          // under it covers the nodes below.
          editor.setNodeErrors(new Map([[err.nodeId, []]]));
        }
        this.autoQueue.runFailed('the run failed');
        break;
      }
      case 'execution_interrupted':
        this.toast('info', 'Interrupted');
        this.autoQueue.runFailed('the run was interrupted');
        break;
    }
  }

  #showPreview(frame: PreviewFrame): void {
    this.previewFramesReceived++;
    this.#clearPreview();
    const url = URL.createObjectURL(new Blob([frame.bytes as Uint8Array<ArrayBuffer>], { type: frame.mime }));
    this.#previewUrl = url;
    this.state.previewUrl = url;
    const node = frame.displayNodeId ?? frame.nodeId ?? this.state.execution.runningNode;
    if (node) this.#editor?.setNodePreview(node, url);
  }

  #clearPreview(): void {
    if (this.#previewUrl) URL.revokeObjectURL(this.#previewUrl);
    this.#previewUrl = null;
    this.state.previewUrl = null;
  }

  // ---- misc ---------------------------------------------------------------------------------------------------

  toast(kind: Toast['kind'], text: string): void {
    const toast = { id: ++toastId, kind, text };
    this.state.toasts = [...this.state.toasts, toast].slice(-5);
    setTimeout(() => {
      this.state.toasts = this.state.toasts.filter((t) => t.id !== toast.id);
    }, kind === 'error' ? 8000 : 3000);
  }

  /**
   * Puts a node library or model library item on the canvas at a page position (its drop point), or at the view's
   * centre: a node class as a new node, a model file as its folder's loader node with the file selected.
   */
  async placeLibraryItem(item: LibraryDrop, clientPos?: [number, number] | null): Promise<void> {
    // Items added by click all go to the view's centre: each steps off the ones already there.
    const pos = clientPos ? this.editor.toGraphPos(...clientPos) : this.editor.freeSpot(this.editor.toGraphPos(...this.editor.viewCentre()));
    if (item.kind === 'node') {
      if (!this.editor.addNode(item.type, pos)) this.toast('error', `Unknown node type ${item.type}`);
      this.checkpoint();
      return;
    }
    const loader = loaderFor(item.folder, item.file, this.objectInfo);
    if (!loader) {
      this.toast('error', `No loader node for ${item.folder}/${item.file} on this server`);
      return;
    }
    // A file added since the node types were fetched is not in the loader's list yet.
    const listed = (spec: unknown) => Array.isArray(spec) && Array.isArray(spec[0]) && spec[0].includes(item.file);
    const entry = this.objectInfo[loader.type]!;
    if (!listed(entry.input.required[loader.input] ?? entry.input.optional?.[loader.input])) await this.refreshNodeTypes().catch(() => undefined);
    const node = this.editor.addNode(loader.type, pos);
    if (!node) return;
    if (!this.editor.setWidgetValue(node, loader.input, item.file)) this.toast('error', `${loader.type} does not list ${item.file}; press R to refresh the model lists`);
    this.checkpoint();
  }

  /** Switches the minimap or the node id badges (settings stored on the server; a failure is reported). */
  setViewOptions(changes: Partial<ViewOptions>): void {
    this.settings.setViewOptions(changes).catch((e: Error) => this.toast('error', `Could not save the setting: ${e.message}`));
  }

  /** Adds the node picked in the search box. */
  addFromSearch(type: string): void {
    const req = this.state.search;
    this.state.search = null;
    if (!req) return;
    this.editor.addNode(type, req.graphPos, req.pending);
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

/** A prompt id as ComfyUI's front end makes them (a UUID). */
function newPromptId(): string {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return randomId();
}

function randomId(): string {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID().replace(/-/g, '');
  return Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2);
}
