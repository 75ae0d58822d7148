/**
 * The editor's UI state as a runes store. Large lists use `$state.raw` so Svelte does not deep-proxy them; they are
 * replaced, never mutated. The controller (plain TypeScript) writes here; components only read and call the controller.
 */
import type { HistoryEntry, QueueItem } from '../api-client.ts';
import type { RunMode } from '../auto-queue.ts';
import { initialExecutionState, type ExecutionState } from '../execution-state.ts';
import type { MaskEditRequest, RenameRequest, SearchRequest } from '../litegraph-adapter.ts';
import type { DialogRequest } from '../dialogs.ts';
import { Keymap } from '../shortcuts.ts';
import type { Template } from '../templates.ts';
import type { LibraryEntry } from '../workflow-library.ts';
import type { TabSummary } from '../workflow-tabs.ts';
import { DEFAULT_VIEW_OPTIONS, type ViewOptions } from '../view-options.ts';
import type { ConnectionState } from '../ws-client.ts';

export interface Toast { id: number; kind: 'info' | 'error'; text: string }
export interface ValidationReport { message: string; nodes: { id: string; title: string; classType: string; messages: string[] }[] }

export class AppState {
  connection = $state<ConnectionState>('connecting');
  reconnectAttempt = $state(0);
  workflowName = $state('workflow');
  batchCount = $state(1);
  runMode = $state<RunMode>('once');
  selectedCount = $state(0);
  graphPath = $state.raw<string[]>(['Workflow']);
  execution = $state.raw<ExecutionState>(initialExecutionState());
  queue = $state.raw<{ running: QueueItem[]; pending: QueueItem[] }>({ running: [], pending: [] });
  history = $state.raw<HistoryEntry[]>([]);
  templates = $state.raw<Template[]>([]);
  missingNodeTypes = $state.raw<string[]>([]);
  validation = $state.raw<ValidationReport | null>(null);
  previewUrl = $state<string | null>(null);
  search = $state.raw<SearchRequest | null>(null);
  /** A node or group title being edited in place (double-click on the title). */
  rename = $state.raw<RenameRequest | null>(null);
  /** The picture open in the mask editor (Open in MaskEditor on a LoadImage node). */
  maskEdit = $state.raw<MaskEditRequest | null>(null);
  toasts = $state.raw<Toast[]>([]);
  nodeTypeCount = $state(0);
  /** Minimap and node id badges (lib/view-options.ts); the controller loads, applies and stores them. */
  viewOptions = $state.raw<ViewOptions>({ ...DEFAULT_VIEW_OPTIONS });
  /** The open left sidebar tab (components/Sidebar/tabs.ts ids), or null when only its icon bar shows. */
  sidebarTab = $state<string | null>(null);
  ready = $state(false);
  tabs = $state.raw<TabSummary[]>([]);
  activeTab = $state('');
  dialog = $state.raw<DialogRequest | null>(null);
  library = $state.raw<LibraryEntry[]>([]);
  settings = $state.raw<Record<string, unknown>>({});
  keymap = $state.raw<Keymap>(new Keymap());
  settingsOpen = $state(false);
}
