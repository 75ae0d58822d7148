/**
 * A set of node definitions, passed into the engine (never a global). Renders /object_info in ComfyUI's shape.
 */
import type { HostEnvironment, InputDef, NodeDefinition } from './node-api.ts';

export interface ObjectInfoEntry {
  input: { required: Record<string, unknown[]>; optional?: Record<string, unknown[]>; hidden?: Record<string, string> };
  input_order: { required: string[]; optional?: string[]; hidden?: string[] };
  output: string[];
  output_is_list: boolean[];
  output_name: string[];
  output_tooltips?: (string | null)[];
  name: string;
  display_name: string;
  description: string;
  category: string;
  output_node: boolean;
  python_module: string;
  deprecated?: boolean;
  experimental?: boolean;
  api_node?: boolean;
  not_idempotent?: boolean;
}

const OPTION_KEYS = [
  'default', 'min', 'max', 'step', 'round', 'multiline', 'placeholder', 'label_on', 'label_off',
  'image_upload', 'control_after_generate', 'forceInput', 'lazy', 'tooltip', 'dynamicPrompts', 'advanced',
] as const;

export class NodeRegistry {
  readonly #nodes = new Map<string, NodeDefinition>();

  constructor(definitions: Iterable<NodeDefinition> = []) {
    for (const d of definitions) this.register(d);
  }

  register(definition: NodeDefinition): this {
    if (this.#nodes.has(definition.name)) throw new Error(`Node type '${definition.name}' is registered twice`);
    this.#nodes.set(definition.name, definition);
    return this;
  }

  get(name: string): NodeDefinition | undefined {
    return this.#nodes.get(name);
  }

  has(name: string): boolean {
    return this.#nodes.has(name);
  }

  names(): string[] {
    return [...this.#nodes.keys()];
  }

  definitions(): IterableIterator<NodeDefinition> {
    return this.#nodes.values();
  }

  /** Combo options for an input, computed on request for folder-backed combos. */
  static comboOptions(def: InputDef, env: HostEnvironment): readonly string[] | undefined {
    if (!def.options) return undefined;
    return typeof def.options === 'function' ? def.options(env) : def.options;
  }

  /** All node classes in /object_info's shape. */
  objectInfo(env: HostEnvironment): Record<string, ObjectInfoEntry> {
    const out: Record<string, ObjectInfoEntry> = {};
    for (const def of this.#nodes.values()) out[def.name] = this.objectInfoFor(def, env);
    return out;
  }

  objectInfoFor(def: NodeDefinition, env: HostEnvironment): ObjectInfoEntry {
    const v3 = def.comfyApi === 'v3';
    const renderGroup = (group: Record<string, InputDef> | undefined) => {
      const rendered: Record<string, unknown[]> = {};
      for (const [name, input] of Object.entries(group ?? {})) rendered[name] = renderInput(input, env, v3);
      return rendered;
    };
    const entry: ObjectInfoEntry = {
      input: { required: renderGroup(def.inputs.required) },
      input_order: { required: Object.keys(def.inputs.required ?? {}) },
      output: def.outputs.map((o) => o.type),
      output_is_list: def.outputs.map((o) => o.isList ?? false),
      output_name: def.outputs.map((o) => o.name ?? o.type),
      name: def.name,
      display_name: def.displayName ?? def.name,
      description: def.description ?? '',
      category: def.category,
      output_node: def.outputNode ?? false,
      python_module: def.pack ?? 'nodes',
    };
    if (v3 || def.outputs.some((o) => o.tooltip)) entry.output_tooltips = def.outputs.map((o) => o.tooltip ?? null);
    // server.py's node_info adds these only when set; comfy_api's get_v1_info always fills them.
    if (v3 || def.deprecated) entry.deprecated = def.deprecated ?? false;
    if (v3 || def.experimental) entry.experimental = def.experimental ?? false;
    if (v3 || def.apiNode !== undefined) entry.api_node = def.apiNode ?? false;
    if (def.inputs.optional) {
      entry.input.optional = renderGroup(def.inputs.optional);
      entry.input_order.optional = Object.keys(def.inputs.optional);
    }
    if (def.inputs.hidden) {
      entry.input.hidden = { ...def.inputs.hidden };
      entry.input_order.hidden = Object.keys(def.inputs.hidden);
    }
    if (def.notIdempotent) entry.not_idempotent = true;
    return entry;
  }
}

function renderInput(input: InputDef, env: HostEnvironment, v3: boolean): unknown[] {
  const opts: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) if (input[key] !== undefined) opts[key] = input[key];
  if (input.type === 'COMBO') {
    const options = [...(NodeRegistry.comboOptions(input, env) ?? [])];
    // comfy_api's Combo.as_dict: the generic keys first, then multiselect and options.
    if (v3) return ['COMBO', { ...opts, multiselect: false, options }];
    return Object.keys(opts).length ? [options, opts] : [options];
  }
  return Object.keys(opts).length ? [input.type, opts] : [input.type];
}
