/**
 * Settings as the editor applies them: loads them from the server, puts the canvas ones on the canvas (link render
 * mode, snapping, node id badges; the minimap switch goes to the canvas tools), gives the prompt's preview method, and keeps the keymap built from the keybinding settings.
 * Every change is stored on the server first, so a reload (or another browser) finds it.
 */
import type { ApiClient } from './api-client.ts';
import type { GraphEditor } from './litegraph-adapter.ts';
import { ALWAYS_SNAP_TO_GRID, GRID_SIZE, LINK_RENDER_MODE, NEW_BINDINGS, PREVIEW_METHOD, SettingsStore, UNSET_BINDINGS } from './settings.ts';
import { Keymap, type Command, type KeyCombo } from './shortcuts.ts';
import { settingsForViewOptions, viewOptionsFromSettings, type ViewOptions } from './view-options.ts';

/** What the settings dialog shows; the runes store implements it. */
export interface SettingsSink {
  settings: Record<string, unknown>;
  keymap: Keymap;
  /** The minimap and node id badge switches (canvas tools), from their settings. */
  viewOptions: ViewOptions;
}

export class EditorSettings {
  readonly store: SettingsStore;
  #sink: SettingsSink;
  #editor: GraphEditor | null = null;

  constructor(api: ApiClient, sink: SettingsSink) {
    this.store = new SettingsStore(api);
    this.#sink = sink;
    sink.keymap = new Keymap();
    sink.settings = this.store.snapshot();
  }

  get keymap(): Keymap {
    return this.#sink.keymap;
  }

  /** Loads the user's settings and applies them to `editor`; defaults stay when the server has none to give. */
  async load(editor: GraphEditor): Promise<void> {
    this.#editor = editor;
    try {
      await this.store.load();
    } finally {
      this.#publish();
    }
  }

  /** The prompt's `extra_data.preview_method`, or undefined to leave it to the server (ComfyUI's 'default'). */
  get previewMethod(): string | undefined {
    const method = this.store.get<string>(PREVIEW_METHOD);
    return method === 'default' ? undefined : method;
  }

  async set(id: string, value: unknown): Promise<void> {
    await this.store.set(id, value);
    this.#publish();
  }

  /**
   * Changes the minimap or node id badge switch: shown at once, then stored; when storing fails the switch goes back
   * and the error is thrown.
   */
  async setViewOptions(changes: Partial<ViewOptions>): Promise<void> {
    const before = this.#sink.viewOptions;
    this.#sink.viewOptions = { ...before, ...changes };
    this.#editor?.setNodeIdBadges(this.#sink.viewOptions.nodeIdBadges);
    try {
      for (const [id, value] of settingsForViewOptions(changes)) await this.store.set(id, value);
    } finally {
      this.#publish();
    }
  }

  async rebind(command: Command, combo: KeyCombo): Promise<void> {
    await this.#saveBindings(this.keymap.rebind(command, combo));
  }

  async resetBinding(command: Command): Promise<void> {
    await this.#saveBindings(this.keymap.reset(command));
  }

  async #saveBindings(next: { added: unknown[]; unset: unknown[] }): Promise<void> {
    await this.store.set(NEW_BINDINGS, next.added);
    await this.store.set(UNSET_BINDINGS, next.unset);
    this.#publish();
  }

  #publish(): void {
    this.#sink.settings = this.store.snapshot();
    this.#sink.keymap = new Keymap(this.store.get(NEW_BINDINGS), this.store.get(UNSET_BINDINGS));
    this.#sink.viewOptions = viewOptionsFromSettings((id) => this.store.get(id));
    const editor = this.#editor;
    if (!editor) return;
    editor.setNodeIdBadges(this.#sink.viewOptions.nodeIdBadges);
    editor.setLinkRenderMode(this.store.get<number>(LINK_RENDER_MODE));
    editor.setSnapToGrid(this.store.get<boolean>(ALWAYS_SNAP_TO_GRID), this.store.get<number>(GRID_SIZE));
  }
}
