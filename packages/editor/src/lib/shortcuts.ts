/**
 * The editor's keyboard shortcuts, bound as ComfyUI binds them and rebindable as ComfyUI's are: each command has
 * ComfyUI's command id, the defaults are ComfyUI's core keybindings (plus Ctrl+Z / Ctrl+Y, which ComfyUI handles
 * apart, and Ctrl+Shift+S for the API export), and the user's changes are two lists kept in the settings under
 * ComfyUI's ids: `Comfy.Keybinding.NewBindings` (added) and `Comfy.Keybinding.UnsetBindings` (defaults taken away),
 * each entry `{ commandId, combo: { key, ctrl?, alt?, shift? } }`. Copy, paste, select-all and delete stay litegraph's.
 */
export type Command =
  | 'queue' | 'queue-front' | 'save' | 'open' | 'export-api' | 'undo' | 'redo' | 'mute' | 'bypass' | 'group'
  | 'interrupt' | 'fit-view' | 'convert-to-subgraph' | 'refresh' | 'collapse' | 'pin' | 'zoom-in' | 'zoom-out'
  | 'settings' | 'new-workflow' | 'toggle-workflows';

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** ComfyUI's key combo: `ctrl` stands for Ctrl or Cmd. */
export interface KeyCombo { key: string; ctrl?: boolean; alt?: boolean; shift?: boolean }
export interface Keybinding { commandId: string; combo: KeyCombo; targetElementId?: string }

interface CommandInfo {
  /** ComfyUI's command id (the same in settings.json). */
  id: string;
  label: string;
  /** Acts while typing in a text field (only Ctrl/Cmd combos do). */
  inTextFields?: boolean;
}

export const COMMANDS: Record<Command, CommandInfo> = {
  'queue': { id: 'Comfy.QueuePrompt', label: 'Queue', inTextFields: true },
  'queue-front': { id: 'Comfy.QueuePromptFront', label: 'Queue at the front', inTextFields: true },
  'interrupt': { id: 'Comfy.Interrupt', label: 'Interrupt', inTextFields: true },
  'save': { id: 'Comfy.SaveWorkflow', label: 'Save workflow', inTextFields: true },
  'open': { id: 'Comfy.OpenWorkflow', label: 'Open workflow file', inTextFields: true },
  'export-api': { id: 'Comfy.ExportWorkflowAPI', label: 'Export (API)', inTextFields: true },
  'new-workflow': { id: 'Comfy.NewBlankWorkflow', label: 'New blank workflow' },
  'settings': { id: 'Comfy.ShowSettingsDialog', label: 'Settings', inTextFields: true },
  'toggle-workflows': { id: 'Workspace.ToggleSidebarTab.workflows', label: 'Toggle the Workflows sidebar' },
  'undo': { id: 'Comfy.Undo', label: 'Undo' },
  'redo': { id: 'Comfy.Redo', label: 'Redo' },
  'mute': { id: 'Comfy.Canvas.ToggleSelectedNodes.Mute', label: 'Mute selected nodes' },
  'bypass': { id: 'Comfy.Canvas.ToggleSelectedNodes.Bypass', label: 'Bypass selected nodes' },
  'group': { id: 'Comfy.Graph.GroupSelectedNodes', label: 'Group selected nodes' },
  'convert-to-subgraph': { id: 'Comfy.Graph.ConvertToSubgraph', label: 'Convert selection to subgraph' },
  'fit-view': { id: 'Comfy.Canvas.FitView', label: 'Fit view' },
  'refresh': { id: 'Comfy.RefreshNodeDefinitions', label: 'Refresh node definitions' },
  'collapse': { id: 'Comfy.Canvas.ToggleSelectedNodes.Collapse', label: 'Collapse selected nodes' },
  'pin': { id: 'Comfy.Canvas.ToggleSelected.Pin', label: 'Pin selected nodes' },
  'zoom-in': { id: 'Comfy.Canvas.ZoomIn', label: 'Zoom in' },
  'zoom-out': { id: 'Comfy.Canvas.ZoomOut', label: 'Zoom out' },
};

const bind = (command: Command, combo: KeyCombo): Keybinding => ({ commandId: COMMANDS[command].id, combo });

export const DEFAULT_KEYBINDINGS: readonly Keybinding[] = [
  bind('queue', { key: 'Enter', ctrl: true }),
  bind('queue-front', { key: 'Enter', ctrl: true, shift: true }),
  // ComfyUI's Ctrl+Alt+Enter interrupts; it must be told apart from Ctrl+Enter, which queues another run.
  bind('interrupt', { key: 'Enter', ctrl: true, alt: true }),
  bind('save', { key: 's', ctrl: true }),
  bind('export-api', { key: 's', ctrl: true, shift: true }),
  bind('open', { key: 'o', ctrl: true }),
  bind('settings', { key: ',', ctrl: true }),
  bind('toggle-workflows', { key: 'w' }),
  bind('undo', { key: 'z', ctrl: true }),
  bind('redo', { key: 'y', ctrl: true }),
  bind('redo', { key: 'z', ctrl: true, shift: true }),
  bind('mute', { key: 'm', ctrl: true }),
  bind('bypass', { key: 'b', ctrl: true }),
  bind('group', { key: 'g', ctrl: true }),
  bind('convert-to-subgraph', { key: 'e', ctrl: true, shift: true }),
  bind('fit-view', { key: '.' }),
  bind('refresh', { key: 'r' }),
  bind('pin', { key: 'p' }),
  bind('collapse', { key: 'c', alt: true }),
  // Alt+= and Alt++ (the same key with Shift, or the keypad's) zoom in, Alt+- zooms out.
  bind('zoom-in', { key: '=', alt: true }),
  bind('zoom-in', { key: '+', alt: true, shift: true }),
  bind('zoom-in', { key: '+', alt: true }),
  bind('zoom-out', { key: '-', alt: true }),
];

const commandById = new Map(Object.entries(COMMANDS).map(([command, info]) => [info.id, command as Command]));

const normKey = (key: string) => (key.length === 1 ? key.toLowerCase() : key);

export function sameCombo(a: KeyCombo, b: KeyCombo): boolean {
  return normKey(a.key) === normKey(b.key) && !!a.ctrl === !!b.ctrl && !!a.alt === !!b.alt && !!a.shift === !!b.shift;
}

/** The combo a key press makes, or null for a lone modifier (which binds nothing). */
export function comboOf(e: KeyLike): KeyCombo | null {
  if (['Control', 'Meta', 'Alt', 'Shift', 'AltGraph', 'CapsLock'].includes(e.key)) return null;
  const combo: KeyCombo = { key: normKey(e.key) };
  if (e.ctrlKey || e.metaKey) combo.ctrl = true;
  if (e.altKey) combo.alt = true;
  if (e.shiftKey) combo.shift = true;
  return combo;
}

/** `Ctrl+Shift+S`, as menus and the settings show a combo. */
export function comboLabel(combo: KeyCombo): string {
  const key = combo.key.length === 1 ? combo.key.toUpperCase() : combo.key;
  return [combo.ctrl && 'Ctrl', combo.alt && 'Alt', combo.shift && 'Shift', key].filter(Boolean).join('+');
}

function isKeybinding(value: unknown): value is Keybinding {
  const b = value as Keybinding | null;
  return !!b && typeof b === 'object' && typeof b.commandId === 'string' && !!b.combo && typeof b.combo.key === 'string';
}

/** The bindings in force: the defaults less the unset ones, plus the user's. */
export class Keymap {
  readonly added: readonly Keybinding[];
  readonly unset: readonly Keybinding[];
  readonly bindings: readonly Keybinding[];

  /** `added` and `unset` are the settings' `Comfy.Keybinding.NewBindings` and `UnsetBindings` (bad entries are skipped). */
  constructor(added: unknown = [], unset: unknown = []) {
    this.added = Array.isArray(added) ? added.filter(isKeybinding) : [];
    this.unset = Array.isArray(unset) ? unset.filter(isKeybinding) : [];
    const kept = DEFAULT_KEYBINDINGS.filter((d) => !this.unset.some((u) => u.commandId === d.commandId && sameCombo(u.combo, d.combo)));
    // A user's binding wins over a default on the same combo.
    this.bindings = [...this.added, ...kept.filter((d) => !this.added.some((a) => sameCombo(a.combo, d.combo)))];
  }

  /**
   * The command for a key press, or null. `inTextField` is true while typing in an input or textarea, where only the
   * commands marked for it act, with Ctrl/Cmd (so the browser's own undo works in text).
   */
  commandFor(e: KeyLike, inTextField = false): Command | null {
    const combo = comboOf(e);
    if (!combo) return null;
    const binding = this.bindings.find((b) => sameCombo(b.combo, combo));
    const command = binding ? commandById.get(binding.commandId) : undefined;
    if (!command) return null;
    if (inTextField && !(COMMANDS[command].inTextFields && combo.ctrl)) return null;
    return command;
  }

  combosOf(command: Command): KeyCombo[] {
    return this.bindings.filter((b) => b.commandId === COMMANDS[command].id).map((b) => b.combo);
  }

  /**
   * Binds `command` to `combo` alone, as ComfyUI's keybinding editor does: the command's other bindings go, and so
   * does any other command's binding of that combo. Returns the new settings lists.
   */
  rebind(command: Command, combo: KeyCombo): { added: Keybinding[]; unset: Keybinding[] } {
    const id = COMMANDS[command].id;
    const drop = (b: Keybinding) => b.commandId === id || sameCombo(b.combo, combo);
    const added = [...this.added.filter((b) => !drop(b)), { commandId: id, combo }];
    const unset = [...this.unset, ...DEFAULT_KEYBINDINGS.filter((d) => drop(d) && !this.unset.some((u) => u.commandId === d.commandId && sameCombo(u.combo, d.combo)))];
    return { added, unset };
  }

  /** The command's default bindings back, and the user's for it removed. */
  reset(command: Command): { added: Keybinding[]; unset: Keybinding[] } {
    const id = COMMANDS[command].id;
    return { added: this.added.filter((b) => b.commandId !== id), unset: this.unset.filter((b) => b.commandId !== id) };
  }
}
