/**
 * ComfyUI's front-end PrimitiveNode on the canvas: once linked it shows the first target's widget (with a seed control
 * and a combo filter where ComfyUI has them), accepts further targets that fit, and pushes its value into every
 * widget it feeds. The decisions without litegraph live in `../primitive-node.ts`.
 */
import { LGraphNode, type INodeInputSlot } from '@comfyorg/litegraph';
import { CONTROL_MODES, type WidgetSpec } from '../object-info.ts';
import { mergeTarget, planPrimitive, PRIMITIVE_IDLE_OUTPUT, PRIMITIVE_TYPE } from '../primitive-node.ts';
import { allNodes, planOf, primitiveSpecOf, setPrimitiveSpec } from './node-state.ts';
import { CONTROL_FILTER, SEED_CONTROL, type NodeWidgets } from './node-widgets.ts';
import type { TextAreas } from './text-areas.ts';
import type { GraphContext } from './types.ts';

/** A primitive's output names the widget it feeds (litegraph serialises `widget.name` on outputs). */
type WidgetOutput = LGraphNode['outputs'][number] & { widget?: { name: string } };

export class Primitives {
  #context: GraphContext;
  #widgets: NodeWidgets;
  #textAreas: TextAreas;

  constructor(context: GraphContext, widgets: NodeWidgets, textAreas: TextAreas) {
    this.#context = context;
    this.#widgets = widgets;
    this.#textAreas = textAreas;
  }

  /** litegraph asks before linking a primitive's output: only widget inputs, and further ones must fit the first. */
  accepts(node: LGraphNode, input: unknown, target: unknown): boolean {
    const widgetName = (input as INodeInputSlot | undefined)?.widget?.name;
    if (!(target instanceof LGraphNode) || !widgetName) return false;
    const wanted = widgetTarget(target, widgetName);
    if (!wanted) return false;
    const current = primitiveSpecOf(node);
    if (!current || !node.outputs[0]?.links?.length) return true;
    const merged = mergeTarget(current, wanted.spec);
    if (!merged) return false;
    if (merged !== current && merged.kind === 'number' && current.kind === 'number') {
      // Narrow the shown widget in place: its callback normalises against this same spec object.
      current.min = merged.min;
      current.max = merged.max;
      const widget = node.widgets?.[0];
      if (widget) {
        Object.assign(widget.options as object, { min: merged.min, max: merged.max });
        widget.value = Math.min(merged.max, Math.max(merged.min, Number(widget.value)));
      }
    }
    return true;
  }

  /** A primitive's links changed: build its widgets on the first, drop them after the last, else push the value. */
  linksChanged(node: LGraphNode, connected: boolean): void {
    const links = node.outputs[0]?.links ?? [];
    if (links.length && !node.widgets?.length) this.#build(node);
    else if (!links.length && node.widgets?.length) this.#reset(node);
    else if (connected && !this.#context.loading) this.push(node);
  }

  /** Copies a primitive's value into every widget it feeds (ComfyUI's `applyToGraph`), through their callbacks. */
  push(node: LGraphNode): void {
    const graph = node.graph;
    const value = node.widgets?.[0]?.value;
    if (!graph || value === undefined) return;
    for (const linkId of node.outputs[0]?.links ?? []) {
      const link = graph._links.get(linkId);
      const target = link ? graph.getNodeById(link.target_id) : null;
      const name = link ? target?.inputs[link.target_slot]?.widget?.name : undefined;
      const widget = name ? target?.widgets?.find((w) => w.name === name) : undefined;
      if (!widget) continue;
      widget.value = value;
      widget.callback?.(value);
    }
    this.#context.canvas.setDirty(true, false);
  }

  /**
   * After a file loads (`context.loading` still set): primitives whose saved output did not name its widget get
   * theirs now that every node is configured (their saved values restored), and every primitive pushes its value.
   */
  settle(): void {
    for (const node of allNodes(this.#context.graph)) {
      if (node.type !== PRIMITIVE_TYPE) continue;
      if (node.outputs[0]?.links?.length && !node.widgets?.length) {
        const saved = (node as { widgets_values?: unknown[] }).widgets_values;
        this.#context.loading = false;
        try {
          this.#build(node);
        } finally {
          this.#context.loading = true;
        }
        if (Array.isArray(saved)) saved.forEach((v, i) => { if (node.widgets?.[i]) node.widgets[i]!.value = v as never; });
      }
      this.push(node);
    }
  }

  /** Shows the widget of the first target on a primitive (ComfyUI's first connection). */
  #build(node: LGraphNode): boolean {
    const output = node.outputs[0] as WidgetOutput | undefined;
    const graph = node.graph;
    const linkId = output?.links?.[0];
    if (!output || !graph || linkId == null) return false;
    const link = graph._links.get(linkId);
    const target = link ? graph.getNodeById(link.target_id) : null;
    if (!link || !target) return false;
    // A saved output names its widget; while a file loads, the target's slots may not be configured yet.
    const widgetName = output.widget?.name ?? (this.#context.loading ? undefined : target.inputs[link.target_slot]?.widget?.name);
    const wanted = widgetTarget(target, widgetName);
    if (!wanted || !widgetName) return false;
    const current = target.widgets?.find((w) => w.name === widgetName)?.value;
    const plan = planPrimitive(wanted.spec, wanted.seed, current);
    output.type = plan.outputType;
    output.name = plan.outputType;
    output.widget = { name: widgetName };
    setPrimitiveSpec(node, plan.spec);
    const push = () => this.push(node);
    this.#widgets.add(node, { kind: 'input', spec: plan.spec }, push);
    const changed = () => {
      push();
      this.#context.changed();
    };
    if (plan.control) node.addWidget('combo', SEED_CONTROL, plan.control, changed, { values: [...CONTROL_MODES] });
    if (plan.filter) node.addWidget('text', CONTROL_FILTER, '', changed, {});
    const size = node.computeSize();
    node.setSize([Math.max(node.size[0], size[0] ?? 0, 220), Math.max(node.size[1], size[1] ?? 0)]);
    this.#context.canvas.setDirty(true, true);
    return true;
  }

  /** Back to an unconnected primitive: a `*` output and no widgets. */
  #reset(node: LGraphNode): void {
    const output = node.outputs[0] as WidgetOutput | undefined;
    if (output) {
      output.type = '*';
      output.name = PRIMITIVE_IDLE_OUTPUT;
      delete output.widget;
    }
    for (const widget of node.widgets ?? []) this.#textAreas.remove(widget);
    node.widgets = [];
    setPrimitiveSpec(node, undefined);
    this.#context.canvas.setDirty(true, true);
  }
}

/**
 * The widget a primitive's output would feed through `widgetName` of `target`: the target's widget spec and whether
 * it has a seed control. Null when the input backs no widget (a plain socket, or a node without a plan).
 */
function widgetTarget(target: LGraphNode, widgetName: string | undefined): { spec: WidgetSpec; seed: boolean } | null {
  const plan = planOf(target);
  const input = widgetName ? plan?.inputs.find((i) => i.name === widgetName) : undefined;
  if (!plan || !input?.widget) return null;
  return { spec: input.widget, seed: plan.widgets.some((w) => w.kind === 'control' && w.of === widgetName) };
}
