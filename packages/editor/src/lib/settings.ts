/**
 * The editor's settings, kept on the server through ComfyUI's `/settings` (one JSON object per user,
 * `comfy.settings.json`) under ComfyUI's setting ids, so the same file means the same thing to both front ends.
 * Values not in the file take the defaults below.
 */
import type { ApiClient } from './api-client.ts';

export interface SettingOption { label: string; value: string | number }

export interface SettingDefinition {
  id: string;
  name: string;
  type: 'combo' | 'number' | 'boolean';
  options?: SettingOption[];
  min?: number;
  max?: number;
  default: unknown;
  /** Why it matters, shown under the name. */
  hint?: string;
}

export const LINK_RENDER_MODE = 'Comfy.LinkRenderMode';
export const ALWAYS_SNAP_TO_GRID = 'pysssss.SnapToGrid';
export const GRID_SIZE = 'Comfy.SnapToGrid.GridSize';
export const PREVIEW_METHOD = 'Comfy.Execution.PreviewMethod';
export const MINIMAP_VISIBLE = 'Comfy.Minimap.Visible';
export const NODE_ID_BADGE_MODE = 'Comfy.NodeBadge.NodeIdBadgeMode';
export const NEW_BINDINGS = 'Comfy.Keybinding.NewBindings';
export const UNSET_BINDINGS = 'Comfy.Keybinding.UnsetBindings';

/** The settings the dialog shows (keybindings have their own section). Values are ComfyUI's. */
export const SETTING_DEFINITIONS: readonly SettingDefinition[] = [
  // litegraph's link render types: STRAIGHT_LINK 0, LINEAR_LINK 1, SPLINE_LINK 2, HIDDEN_LINK -1.
  { id: LINK_RENDER_MODE, name: 'Link render mode', type: 'combo', default: 2,
    options: [{ label: 'Spline', value: 2 }, { label: 'Linear', value: 1 }, { label: 'Straight', value: 0 }, { label: 'Hidden', value: -1 }] },
  { id: ALWAYS_SNAP_TO_GRID, name: 'Always snap to grid', type: 'boolean', default: false, hint: 'Without it, hold Shift while moving to snap.' },
  { id: GRID_SIZE, name: 'Snap to grid size', type: 'number', min: 1, max: 500, default: 10 },
  // ComfyUI's default is 'default' (the server's --preview-method, none unless set); this editor has always asked
  // for previews, so it keeps 'auto' when the file says nothing.
  { id: PREVIEW_METHOD, name: 'Live preview method', type: 'combo', default: 'auto', hint: 'Sent with each prompt; "Server default" leaves it to the server.',
    options: [{ label: 'Server default', value: 'default' }, { label: 'Auto', value: 'auto' }, { label: 'Latent2RGB', value: 'latent2rgb' }, { label: 'TAESD', value: 'taesd' }, { label: 'None', value: 'none' }] },
  // The canvas tools' two switches (lib/view-options.ts reads them).
  { id: MINIMAP_VISIBLE, name: 'Show the minimap', type: 'boolean', default: false },
  { id: NODE_ID_BADGE_MODE, name: 'Node ID badges', type: 'combo', default: 'None',
    options: [{ label: 'None', value: 'None' }, { label: 'Show all', value: 'Show all' }] },
];

/** Makes a value typed in the dialog fit its setting (a number in range, a known option), else the default. */
export function coerceSetting(def: SettingDefinition, value: unknown): unknown {
  if (def.type === 'boolean') return typeof value === 'boolean' ? value : def.default;
  if (def.type === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n)) return def.default;
    return Math.min(def.max ?? Infinity, Math.max(def.min ?? -Infinity, Math.round(n)));
  }
  const option = def.options?.find((o) => String(o.value) === String(value));
  return option ? option.value : def.default;
}

export class SettingsStore {
  #values: Record<string, unknown> = {};
  #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    this.#values = await this.#api.getSettings();
  }

  get<T = unknown>(id: string): T {
    if (Object.hasOwn(this.#values, id)) {
      const def = SETTING_DEFINITIONS.find((d) => d.id === id);
      return (def ? coerceSetting(def, this.#values[id]) : this.#values[id]) as T;
    }
    return SETTING_DEFINITIONS.find((d) => d.id === id)?.default as T;
  }

  /** Stores a value on the server (`POST /settings/{id}`), then here. */
  async set(id: string, value: unknown): Promise<void> {
    await this.#api.setSetting(id, value);
    this.#values = { ...this.#values, [id]: value };
  }

  snapshot(): Record<string, unknown> {
    return Object.fromEntries(SETTING_DEFINITIONS.map((d) => [d.id, this.get(d.id)]));
  }
}
