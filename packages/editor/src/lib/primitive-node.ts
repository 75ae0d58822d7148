/**
 * ComfyUI's front-end PrimitiveNode, the part without litegraph: what a primitive shows for the widget input it feeds
 * (the target's widget, named `value`, then `control_after_generate` for numbers and combos and
 * `control_filter_list` for combos, in ComfyUI's `widgets_values` order), whether a further target fits, and how a
 * combo value moves on after a queue. The litegraph class lives in the adapter.
 */
import type { ControlMode, WidgetSpec } from './object-info.ts';

/** The node type ComfyUI saves for a primitive. */
export const PRIMITIVE_TYPE = 'PrimitiveNode';
/** The name of a primitive's output before it is connected (ComfyUI's wording). */
export const PRIMITIVE_IDLE_OUTPUT = 'connect to widget input';
/** ComfyUI's property for text replacement in the value; kept in files, not applied here. */
export const PRIMITIVE_REPLACE_PROPERTY = 'Run widget replace on values';

/** The widgets a connected primitive shows, in `widgets_values` order. */
export interface PrimitivePlan {
  /** The output's type once connected: INT, FLOAT, STRING, BOOLEAN or COMBO. */
  outputType: string;
  /** The value widget: the target's spec, named `value`. */
  spec: WidgetSpec;
  /** The `control_after_generate` default, or null when the widget kind has none (text, toggle). */
  control: ControlMode | null;
  /** Whether a `control_filter_list` text widget follows the control (combos). */
  filter: boolean;
}

/** The socket type a widget spec stands for. */
export function widgetSocketType(spec: WidgetSpec): string {
  switch (spec.kind) {
    case 'number': return spec.type;
    case 'combo': return 'COMBO';
    case 'text': return 'STRING';
    case 'toggle': return 'BOOLEAN';
  }
}

/**
 * Plans a primitive for a target widget. `seedControl` says the target input has ComfyUI's `control_after_generate`
 * (seeds): its control then starts at `randomize`; any other number or combo gets one starting at `fixed`, as in
 * ComfyUI. The value starts at `value` (the target widget's current value).
 */
export function planPrimitive(target: WidgetSpec, seedControl: boolean, value?: unknown): PrimitivePlan {
  const spec = { ...target, name: 'value' } as WidgetSpec;
  if (value !== undefined) (spec as { value: unknown }).value = value;
  // The primitive shows the value; LoadImage's preview stays on the LoadImage node.
  if (spec.kind === 'combo') spec.imageUpload = false;
  const counted = spec.kind === 'number' || spec.kind === 'combo';
  return {
    outputType: widgetSocketType(target),
    spec,
    control: counted ? (seedControl ? 'randomize' : 'fixed') : null,
    filter: spec.kind === 'combo',
  };
}

/**
 * Whether one primitive can feed a further target, and with which spec: same kind and type; combos need the same
 * list; numbers keep the overlap of both ranges (none: no fit). Returns the narrowed spec, or null.
 */
export function mergeTarget(current: WidgetSpec, next: WidgetSpec): WidgetSpec | null {
  if (widgetSocketType(current) !== widgetSocketType(next)) return null;
  if (current.kind === 'combo' && next.kind === 'combo') {
    const same = current.values.length === next.values.length && current.values.every((v, i) => v === next.values[i]);
    return same ? current : null;
  }
  if (current.kind === 'number' && next.kind === 'number') {
    const min = Math.max(current.min, next.min);
    const max = Math.min(current.max, next.max);
    if (min > max) return null;
    return { ...current, min, max, value: Math.min(max, Math.max(min, current.value)) };
  }
  return current;
}

/**
 * The value a combo takes after one queue, as ComfyUI's combo control moves it: over the values that pass `filter`
 * (`/regex/` or a case-insensitive substring), one step on or back (stopping at the ends) or a random pick; `fixed`
 * and an empty filtered list leave it.
 */
export function nextComboValue(values: readonly string[], current: string, mode: ControlMode | string, filter = '', random: () => number = Math.random): string {
  if (mode === 'fixed') return current;
  let list = [...values];
  if (filter) {
    let test: ((v: string) => boolean) | undefined;
    if (filter.length > 1 && filter.startsWith('/') && filter.endsWith('/')) {
      try {
        const re = new RegExp(filter.slice(1, -1));
        test = (v) => re.test(v);
      } catch {
        // Not a valid pattern: read it as text below.
      }
    }
    const lower = filter.toLocaleLowerCase();
    list = list.filter(test ?? ((v) => v.toLocaleLowerCase().includes(lower)));
  }
  if (!list.length) return current;
  let index = list.indexOf(current);
  if (mode === 'increment') index += 1;
  else if (mode === 'decrement') index -= 1;
  else if (mode === 'randomize') index = Math.floor(random() * list.length);
  index = Math.min(list.length - 1, Math.max(0, index));
  return list[index]!;
}
