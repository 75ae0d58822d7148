/**
 * Wires the editor together: the server's API and WebSocket, the litegraph canvas (through the adapter), files,
 * autosave and undo. Components call its methods; it writes what they show into an {@link EditorStateSink}.
 */
import { ApiClient, PromptRejectedError, type HistoryEntry, type ImageRef } from './api-client.ts';
import { AutoQueue, type RunMode } from './auto-queue.ts';
import { reduceExecution, type ExecutionState } from './execution-state.ts';
import { apiToUi, MissingNodeTypesError, uiToApi } from './formats.ts';
import type { LibraryDrop } from './library-drops.ts';
import type { GraphEditor, SearchRequest, UiWorkflow } from './litegraph-adapter.ts';
import { loaderFor } from './model-loaders.ts';
import type { ObjectInfo } from './object-info.ts';
import type { ValidationReport, Toast } from './stores/app-state.svelte.ts';
import { bundledTemplates, type Template } from './templates.ts';
import { imageRefOfInputName } from './mask-painting.ts';
import type { ViewOptions } from './view-options.ts';
import type { Dialogs, DialogRequest } from './dialogs.ts';
import { EditorSettings, type SettingsSink } from './editor-settings.ts';
import { downloadJson, dropKindOf, fileNameFor, pickFile, readWorkflowFile, type StorageLike } from './workflow-files.ts';
import type { LibraryEntry } from './workflow-library.ts';
import { WorkflowSession } from './workflow-session.ts';
import type { TabSummary } from './workflow-tabs.ts';
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
  /** The open workflows: tabs, undo, saving and opening (workflow-session.ts). */
  readonly workflows: WorkflowSession;
  /** Settings from the server's /settings, applied to the canvas; the keymap. */
  readonly settings: EditorSettings;
  #editor: GraphEditor | null = null;
  #totals = new Map<string, number>();
  #previewUrl: string | null = null;
  #wasOpen = false;
  #runtimeErrorShown = false;

  constructor(state: EditorStateSink, options: ControllerOptions = {}) {
    this.state = state;
    this.api = options.api ?? new ApiClient();
    const clientId = options.clientId ?? randomId();
    const location = options.location ?? globalThis.location;
    this.ws = new WsClient({ url: this.api.wsUrl(location), clientId, ...(options.createSocket ? { createSocket: options.createSocket } : {}) });
    const controller = this;
    this.workflows = new WorkflowSession({
      state,
      get editor() { return controller.editor; },
      get attached() { return controller.#editor !== null; },
      get objectInfo() { return controller.objectInfo; },
      toast: (kind, text) => this.toast(kind, text),
      edited: () => this.autoQueue.edited(),
    }, this.api, options.storage);
    this.settings = new EditorSettings(this.api, state);
    state.templates = options.templates ?? bundledTemplates();
  }

  /** The in-page questions (the Dialog component answers them). */
  get dialogs(): Dialogs {
    return this.workflows.dialogs;
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
    await this.workflows.openInitial();
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

  // ---- workflows (tabs, undo, saving: workflow-session.ts) ------------------------------------------------------

  /** Opens a workflow in a new tab (see {@link WorkflowSession.loadWorkflow}). */
  loadWorkflow(workflow: unknown, name = 'workflow', options: { path?: string | null } = {}): void {
    this.workflows.loadWorkflow(workflow, name, options);
  }

  switchTab(id: string): void {
    this.workflows.switchTab(id);
  }

  closeTab(id: string): Promise<boolean> {
    return this.workflows.closeTab(id);
  }

  /** Ctrl+S: saves the active workflow to the server (asks for a name the first time). */
  save(): Promise<boolean> {
    return this.workflows.save();
  }

  saveAs(): Promise<boolean> {
    return this.workflows.saveAs();
  }

  newWorkflow(): void {
    this.workflows.newWorkflow();
  }

  refreshLibrary(): Promise<void> {
    return this.workflows.refreshLibrary();
  }

  openSaved(path: string): Promise<void> {
    return this.workflows.openSaved(path);
  }

  renameSaved(path: string): Promise<void> {
    return this.workflows.renameSaved(path);
  }

  deleteSaved(path: string): Promise<void> {
    return this.workflows.deleteSaved(path);
  }

  /** Called by the adapter on every graph change. */
  graphChanged(): void {
    this.workflows.graphChanged();
  }

  /** Takes an undo snapshot when an edit settles (pointer up, key up). */
  checkpoint(): void {
    this.workflows.checkpoint();
  }

  undo(): void {
    this.workflows.undo();
  }

  redo(): void {
    this.workflows.redo();
  }

  /** Writes the open tabs to local storage now (the page calls it on unload). */
  flushAutosave(): void {
    this.workflows.flushAutosave();
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

  /** Downloads the workflow in ComfyUI's UI format (Export; Ctrl+S saves to the server). */
  exportWorkflow(): void {
    downloadJson(fileNameFor(this.state.workflowName), this.editor.serialize());
  }

  /** Downloads the API prompt (what Queue sends). */
  exportApi(): void {
    const prompt = this.#toApi();
    if (prompt) downloadJson(fileNameFor(this.state.workflowName, true), prompt);
  }

  setRunMode(mode: RunMode): void {
    this.autoQueue.mode = mode;
    this.state.runMode = mode;
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
    if (ids.length) this.workflows.recordQueueStep();
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

/** A prompt id as ComfyUI's front end makes them (a UUID). */
function newPromptId(): string {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return randomId();
}

function randomId(): string {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID().replace(/-/g, '');
  return Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2);
}
