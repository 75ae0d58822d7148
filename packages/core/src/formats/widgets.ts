/**
 * Which of a node class's inputs ComfyUI's front end shows as widgets, and which values a node's `widgets_values`
 * holds, in order. This is the mapping both converters share:
 *
 * - Inputs are read in /object_info order: required, then optional (`input_order` when present).
 * - An input is a widget when its type is INT, FLOAT, STRING, BOOLEAN or a combo (a list of strings, or 'COMBO'),
 *   unless it has `forceInput` (then it is only a socket).
 * - Extra values that are saved but never sent to the server follow some widgets:
 *   one `control_after_generate` value after an INT that has that option (an INT named `seed` or `noise_seed` gets
 *   it unless the option is set to false) and after a FLOAT that has it; two values (control, then a filter string)
 *   after a combo that has it.
 * - The first required combo with `image_upload`, `video_upload` or `animated_image_upload` adds an upload button
 *   whose saved value is 'image', after all required widgets (ComfyUI appends it to the required inputs).
 */
import type { ObjectInfoEntry } from '../registry.ts';

/** One input of a node class, normalised from the /object_info wire shape. */
export interface InputSpec {
  name: string;
  /** 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'COMBO' | a link type such as 'MODEL'. Lists of strings become 'COMBO'. */
  type: string;
  options: Record<string, unknown>;
  /** Choices of a combo input. */
  choices?: unknown[];
  optional: boolean;
}

/** What one position of `widgets_values` holds. Only 'input' positions are sent to the server. */
export type WidgetSlot =
  | { kind: 'input'; name: string; spec: InputSpec }
  | { kind: 'control'; name: string; of: string }
  | { kind: 'filter'; name: string; of: string }
  | { kind: 'upload'; name: string; of: string };

const WIDGET_TYPES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);
const UPLOAD_OPTIONS = ['image_upload', 'video_upload', 'animated_image_upload'] as const;
/** Loader nodes that get an upload button even when the server omits the upload flag (as ComfyUI's front end does). */
const KNOWN_MEDIA_LOADER_INPUTS: Record<string, string> = { LoadImage: 'image', LoadImageMask: 'image', LoadVideo: 'file' };

/** The saved value of the upload button widget. */
export const UPLOAD_WIDGET_VALUE = 'image';
/** The control value `apiToUi` writes after widgets with `control_after_generate`: a headless prompt keeps its seed. */
export const DEFAULT_CONTROL_VALUE = 'fixed';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function orderedNames(group: Record<string, unknown> | undefined, order: string[] | undefined): string[] {
  const keys = Object.keys(group ?? {});
  if (!order) return keys;
  const known = order.filter((k) => keys.includes(k));
  return [...known, ...keys.filter((k) => !known.includes(k))];
}

function specFrom(name: string, raw: unknown, optional: boolean): InputSpec {
  const tuple = Array.isArray(raw) ? raw : [raw];
  const [type, opts] = tuple;
  const options = isRecord(opts) ? opts : {};
  if (Array.isArray(type)) return { name, type: 'COMBO', options, choices: type, optional };
  if (type === 'COMBO') {
    const choices = Array.isArray(options.options) ? options.options : [];
    return { name, type: 'COMBO', options, choices, optional };
  }
  return { name, type: typeof type === 'string' ? type : String(type), options, optional };
}

/** Required then optional inputs of a node class, in the order ComfyUI's front end creates them. Hidden inputs are left out. */
export function inputSpecs(entry: ObjectInfoEntry): InputSpec[] {
  const specs: InputSpec[] = [];
  // Entries come off the wire; tolerate a class that declares no inputs at all.
  const { required, optional } = entry.input ?? {};
  for (const name of orderedNames(required, entry.input_order?.required)) specs.push(specFrom(name, required?.[name], false));
  for (const name of orderedNames(optional, entry.input_order?.optional)) specs.push(specFrom(name, optional?.[name], true));
  return specs;
}

/** True when ComfyUI shows the input as a widget (with a socket to convert it to a link). */
export function isWidgetInput(spec: InputSpec): boolean {
  return WIDGET_TYPES.has(spec.type) && !spec.options.forceInput;
}

/** How many saved-only values follow this widget in `widgets_values` (control_after_generate and friends). */
export function controlValueCount(spec: InputSpec): 0 | 1 | 2 {
  const control = spec.options.control_after_generate;
  switch (spec.type) {
    case 'INT':
      // The front end gives legacy seed inputs a control widget unless the option is explicitly off.
      return (control ?? ['seed', 'noise_seed'].includes(spec.name)) ? 1 : 0;
    case 'FLOAT':
      return control ? 1 : 0;
    case 'COMBO':
      return control ? 2 : 0;
    default:
      return 0;
  }
}

function uploadTarget(entry: ObjectInfoEntry, specs: InputSpec[]): string | undefined {
  const required = specs.filter((s) => !s.optional);
  const flagged = required.find((s) => s.type === 'COMBO' && UPLOAD_OPTIONS.some((o) => s.options[o] === true));
  if (flagged) return flagged.name;
  const fallback = KNOWN_MEDIA_LOADER_INPUTS[entry.name];
  return fallback && required.some((s) => s.name === fallback && s.type === 'COMBO') ? fallback : undefined;
}

/**
 * The meaning of each position of a node's `widgets_values`.
 * @example widgetLayout(objectInfo.KSampler).map((s) => s.name)
 * // ['seed', 'control_after_generate', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise']
 */
export function widgetLayout(entry: ObjectInfoEntry): WidgetSlot[] {
  const specs = inputSpecs(entry);
  const upload = uploadTarget(entry, specs);
  const slots: WidgetSlot[] = [];
  let uploadPlaced = false;
  const placeUpload = () => {
    if (upload && !uploadPlaced) slots.push({ kind: 'upload', name: 'upload', of: upload });
    uploadPlaced = true;
  };
  for (const spec of specs) {
    if (spec.optional) placeUpload();
    if (!isWidgetInput(spec)) continue;
    slots.push({ kind: 'input', name: spec.name, spec });
    const extra = controlValueCount(spec);
    if (extra >= 1) slots.push({ kind: 'control', name: 'control_after_generate', of: spec.name });
    if (extra === 2) slots.push({ kind: 'filter', name: 'control_filter_list', of: spec.name });
  }
  placeUpload();
  return slots;
}

/** The value a fresh widget starts with: the declared default, else a combo's first choice, else the type's zero. */
export function defaultWidgetValue(spec: InputSpec): unknown {
  if (spec.options.default !== undefined) return spec.options.default;
  switch (spec.type) {
    case 'COMBO':
      return spec.choices?.[0];
    case 'INT':
    case 'FLOAT':
      return 0;
    case 'STRING':
      return '';
    case 'BOOLEAN':
      return false;
    default:
      return undefined;
  }
}

/** The saved value of a saved-only slot when a workflow is written from scratch. */
export function defaultSlotValue(slot: WidgetSlot): unknown {
  switch (slot.kind) {
    case 'input':
      return defaultWidgetValue(slot.spec);
    case 'control':
      return DEFAULT_CONTROL_VALUE;
    case 'filter':
      return '';
    case 'upload':
      return UPLOAD_WIDGET_VALUE;
  }
}

/** The type name an output or input socket carries on a link (lists of strings become 'COMBO'). */
export function socketType(type: unknown): string {
  return Array.isArray(type) ? 'COMBO' : String(type);
}

/**
 * What ComfyUI's front end sends for a STRING widget declared with `dynamicPrompts`: C-style comments removed
 * (`// ...` to the end of the line, `/* ... *\/`), each `{a|b|c}` replaced by one option picked with `random`
 * (options may nest), and `\{`, `\}`, `\|` unescaped. Other backslash pairs are kept as written.
 * @example processDynamicPrompt('a {red|blue} car // draft', () => 0.9) // 'a blue car '
 */
export function processDynamicPrompt(text: string, random: () => number = Math.random): string {
  const source = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*/g, '');
  return expandChoices(source, random).replace(/\\([{}|])/g, '$1');
}

function expandChoices(source: string, random: () => number): string {
  let i = 0;
  // Reads one `{...}` group (the opening brace already consumed) and returns the expansion of the chosen option.
  const group = (): string => {
    const options: string[] = [];
    let current = '';
    let depth = 0;
    while (i < source.length) {
      const c = source[i++]!;
      if (c === '\\') {
        current += c + (source[i++] ?? '');
        continue;
      }
      if (c === '{') depth++;
      else if (c === '}') {
        if (depth === 0) break;
        depth--;
      } else if (c === '|' && depth === 0) {
        options.push(current);
        current = '';
        continue;
      }
      current += c;
    }
    options.push(current);
    const pick = options[Math.min(options.length - 1, Math.floor(random() * options.length))]!;
    return expandChoices(pick, random);
  };
  let out = '';
  while (i < source.length) {
    const c = source[i++]!;
    if (c === '\\') out += c + (source[i++] ?? '');
    else if (c === '{') out += group();
    else out += c;
  }
  return out;
}
