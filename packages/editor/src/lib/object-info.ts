/**
 * Reads ComfyUI's /object_info node definitions into plain plans (which inputs become widgets, which become sockets),
 * so the litegraph adapter only has to draw what these functions decide.
 */
import type { ObjectInfoEntry } from '@uso-studio/core';
import { widgetLayout } from './formats.ts';

export type { ObjectInfoEntry };
/** The whole /object_info answer: one entry per node class. */
export type ObjectInfo = Record<string, ObjectInfoEntry>;

/** The seed modes ComfyUI offers after a seed widget. */
export const CONTROL_MODES = ['fixed', 'increment', 'decrement', 'randomize'] as const;
export type ControlMode = (typeof CONTROL_MODES)[number];

export interface NumberWidgetSpec {
  kind: 'number';
  name: string;
  type: 'INT' | 'FLOAT';
  value: number;
  min: number;
  max: number;
  step: number;
  /** Values snap to multiples of this (ComfyUI's `round`); 0 turns snapping off. */
  round: number;
  precision: number;
}
export interface ComboWidgetSpec {
  kind: 'combo';
  name: string;
  values: string[];
  value: string;
  /** LoadImage's `image_upload`: the node shows the chosen input image. */
  imageUpload: boolean;
}
export interface TextWidgetSpec { kind: 'text'; name: string; value: string; multiline: boolean; placeholder?: string }
export interface ToggleWidgetSpec { kind: 'toggle'; name: string; value: boolean; labelOn?: string; labelOff?: string }
export type WidgetSpec = NumberWidgetSpec | ComboWidgetSpec | TextWidgetSpec | ToggleWidgetSpec;

/** One input of a node class, in the order ComfyUI lays them out. */
export interface InputPlan {
  name: string;
  /** The socket type: `INT`, `FLOAT`, `STRING`, `BOOLEAN`, `COMBO`, or a link type such as `IMAGE`. */
  type: string;
  optional: boolean;
  /** Present for primitive inputs, which show a widget (and a socket the widget can be converted into). */
  widget?: WidgetSpec;
  tooltip?: string;
}

export interface NodePlan {
  type: string;
  title: string;
  category: string;
  description: string;
  outputNode: boolean;
  /** Sockets in /object_info order; primitive inputs carry their widget's spec. */
  inputs: InputPlan[];
  /**
   * Widgets in `widgets_values` order, which core's `widgetLayout` owns: inputs, the seed's control after it,
   * a combo's control and filter, LoadImage's upload button.
   */
  widgets: PlannedWidget[];
  outputs: { name: string; type: string; isList: boolean }[];
}

export type PlannedWidget =
  | { kind: 'input'; spec: WidgetSpec }
  | { kind: 'control'; of: string }
  | { kind: 'filter'; of: string }
  | { kind: 'upload'; of: string };

const INT_LIMIT = 0xffffffffffffffff;

/** Plans a node class from its /object_info entry. Hidden inputs are skipped: the server fills them. */
export function planNode(entry: ObjectInfoEntry): NodePlan {
  const inputs: InputPlan[] = [];
  const groups: ['required' | 'optional', boolean][] = [['required', false], ['optional', true]];
  for (const [group, optional] of groups) {
    const specs = entry.input[group] ?? {};
    const order = entry.input_order?.[group] ?? Object.keys(specs);
    for (const name of order) {
      const spec = specs[name];
      if (spec) inputs.push(planInput(name, spec, optional));
    }
  }
  const widgets: PlannedWidget[] = [];
  for (const slot of widgetLayout(entry)) {
    if (slot.kind === 'input') {
      const spec = inputs.find((i) => i.name === slot.name)?.widget;
      if (spec) widgets.push({ kind: 'input', spec });
    } else {
      widgets.push({ kind: slot.kind, of: slot.of });
      // The upload button's target shows its image on the node, whether or not the server flagged it.
      const target = slot.kind === 'upload' ? inputs.find((i) => i.name === slot.of)?.widget : undefined;
      if (target?.kind === 'combo') target.imageUpload = true;
    }
  }
  return {
    type: entry.name,
    widgets,
    title: entry.display_name || entry.name,
    category: entry.category,
    description: entry.description,
    outputNode: entry.output_node,
    inputs,
    outputs: entry.output.map((type, i) => ({
      name: entry.output_name[i] ?? type,
      type,
      isList: entry.output_is_list[i] ?? false,
    })),
  };
}

/** Plans one input from its `[TYPE, options]` spec. */
export function planInput(name: string, spec: readonly unknown[], optional = false): InputPlan {
  const [rawType, rawOptions] = spec;
  const opts = (rawOptions && typeof rawOptions === 'object' ? rawOptions : {}) as Record<string, unknown>;
  const tooltip = typeof opts.tooltip === 'string' ? opts.tooltip : undefined;
  const base = { name, optional, ...(tooltip ? { tooltip } : {}) };
  const forceInput = opts.forceInput === true;
  if (Array.isArray(rawType) || rawType === 'COMBO') {
    const values = (Array.isArray(rawType) ? rawType : Array.isArray(opts.options) ? opts.options : []).map(String);
    const value = typeof opts.default === 'string' && values.includes(opts.default) ? opts.default : (values[0] ?? '');
    const widget: ComboWidgetSpec = { kind: 'combo', name, values, value, imageUpload: opts.image_upload === true };
    return { ...base, type: 'COMBO', ...(forceInput ? {} : { widget }) };
  }
  const type = String(rawType);
  if (forceInput) return { ...base, type };
  switch (type) {
    case 'INT':
    case 'FLOAT': {
      const isInt = type === 'INT';
      const min = num(opts.min, isInt ? -INT_LIMIT : -Infinity);
      const max = num(opts.max, isInt ? INT_LIMIT : Infinity);
      const step = num(opts.step, isInt ? 1 : 0.01);
      const round = isInt ? Math.max(1, step) : opts.round === false ? 0 : num(opts.round, step);
      const value = clampNumber(num(opts.default, Math.max(0, Number.isFinite(min) ? min : 0)), min, max);
      const widget: NumberWidgetSpec = {
        kind: 'number', name, type, value, min, max, step, round,
        precision: isInt ? 0 : decimalsOf(round || step),
      };
      return { ...base, type, widget };
    }
    case 'STRING': {
      const widget: TextWidgetSpec = {
        kind: 'text', name, value: typeof opts.default === 'string' ? opts.default : '', multiline: opts.multiline === true,
        ...(typeof opts.placeholder === 'string' ? { placeholder: opts.placeholder } : {}),
      };
      return { ...base, type, widget };
    }
    case 'BOOLEAN': {
      const widget: ToggleWidgetSpec = {
        kind: 'toggle', name, value: opts.default === true,
        ...(typeof opts.label_on === 'string' ? { labelOn: opts.label_on } : {}),
        ...(typeof opts.label_off === 'string' ? { labelOff: opts.label_off } : {}),
      };
      return { ...base, type, widget };
    }
    default:
      return { ...base, type };
  }
}

/** Clamps to [min, max] and snaps to `round` the way ComfyUI's number widgets do, counting steps from `min`. */
export function normaliseNumber(value: number, spec: Pick<NumberWidgetSpec, 'min' | 'max' | 'round' | 'type'>): number {
  let v = Number.isFinite(value) ? value : 0;
  if (spec.round > 0) {
    const origin = Number.isFinite(spec.min) ? spec.min : 0;
    v = origin + Math.round((v - origin) / spec.round) * spec.round;
    v = Number(v.toFixed(decimalsOf(spec.round)));
  }
  if (spec.type === 'INT') v = Math.round(v);
  return clampNumber(v, spec.min, spec.max);
}

function clampNumber(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && !Number.isNaN(v) ? v : fallback;
}

function decimalsOf(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 2;
  const text = String(step);
  const exp = /e-(\d+)$/.exec(text);
  if (exp) return Number(exp[1]);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** Groups node classes by category path for the Add Node menu, sorted by title. */
export function nodesByCategory(info: ObjectInfo): Map<string, { type: string; title: string }[]> {
  const out = new Map<string, { type: string; title: string }[]>();
  for (const entry of Object.values(info)) {
    const list = out.get(entry.category) ?? [];
    list.push({ type: entry.name, title: entry.display_name || entry.name });
    out.set(entry.category, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.title.localeCompare(b.title));
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}
