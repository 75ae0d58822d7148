/**
 * Proxy widgets on subgraph instances: the inner widgets a node's `properties.proxyWidgets` lists, shown on the node
 * after the widgets litegraph promotes through subgraph inputs (ComfyUI's newer front end does the same). Each
 * mirrors the inner widget's type and options and reads and writes the inner widget's value, so core's `uiToApi`,
 * which reads the inner node's `widgets_values`, sees every change. They are not serialised: the instance's
 * `widgets_values` keep only the promoted inputs' values, and `proxyWidgets` stays as it was loaded. Entries whose
 * widget cannot be found are left out (and kept in the property). Which entries count lives in `../proxy-widgets.ts`.
 */
import { SubgraphNode, type LGraph, type LGraphNode, type Subgraph } from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';
import { proxyWidgetRefs, type ProxyWidgetRef } from '../proxy-widgets.ts';
import { allNodes } from './node-state.ts';
import type { TextAreas } from './text-areas.ts';
import type { GraphContext } from './types.ts';

/** Marks a widget on a subgraph instance that mirrors an inner node's widget. */
const PROXY = Symbol('proxy-widget');
type ProxyWidget = IBaseWidget & { [PROXY]?: ProxyWidgetRef };
/** The widget kinds a proxy can mirror: litegraph's own, and our multiline text area. */
const PROXIED_TYPES = new Set(['number', 'combo', 'toggle', 'text', 'customtext']);

/** True for a widget that mirrors an inner node's widget (seeds step on the inner node, not here). */
export function isProxyWidget(widget: IBaseWidget): boolean {
  return !!(widget as ProxyWidget)[PROXY];
}

export class SubgraphProxies {
  #context: GraphContext;
  #textAreas: TextAreas;

  constructor(context: GraphContext, textAreas: TextAreas) {
    this.#context = context;
    this.#textAreas = textAreas;
  }

  /**
   * After a file loads: every subgraph instance shows its proxied widgets again, now that every subgraph definition
   * (nested ones included, which litegraph may configure after their first instance) has its nodes and widgets.
   */
  settle(): void {
    for (const node of allNodes(this.#context.graph)) if (node instanceof SubgraphNode) this.attach(node);
  }

  /** Shows on a subgraph instance the inner widgets its `properties.proxyWidgets` lists (again, replacing old ones). */
  attach(node: SubgraphNode): void {
    // Configuring empties the list in place; earlier proxies still there (a second settle) are replaced.
    for (const widget of node.widgets) if (isProxyWidget(widget)) this.#textAreas.remove(widget);
    const kept = node.widgets.filter((w) => !isProxyWidget(w));
    node.widgets.length = 0;
    node.widgets.push(...kept);
    let added = 0;
    for (const ref of proxyWidgetRefs(node.properties?.['proxyWidgets'])) {
      const inner = resolveProxied(node, ref);
      if (!inner || !PROXIED_TYPES.has(String(inner.type))) continue;
      this.#add(node, ref, inner);
      added++;
    }
    if (!added) return;
    const size = node.computeSize();
    node.setSize([Math.max(node.size[0], size[0] ?? 0), Math.max(node.size[1], size[1] ?? 0)]);
    this.#context.canvas.setDirty(true, true);
  }

  #add(node: SubgraphNode, ref: ProxyWidgetRef, inner: IBaseWidget): void {
    // Looked up on each use: undo and paste replace inner nodes, and the widget shown must follow.
    const source = () => resolveProxied(node, ref);
    let last = inner.value;
    const onChange = () => {
      const target = source();
      // The inner widget's own callback normalises numbers, shows a picked image and reports the change.
      if (target?.callback) target.callback(target.value);
      else this.#context.changed();
      this.#context.canvas.setDirty(true, false);
    };
    const widget: IBaseWidget = inner.type === 'customtext'
      ? this.#textAreas.add(node, ref.widgetName, String(inner.value ?? ''), (inner.options as { placeholder?: string }).placeholder)
      // The options object is shared, so refreshed combo lists reach the proxy too.
      : node.addWidget(inner.type as 'number', ref.widgetName, inner.value as number, onChange, inner.options as object);
    widget.callback = onChange;
    widget.serialize = false;
    if (inner.label) widget.label = inner.label;
    Object.defineProperty(widget, 'value', {
      configurable: true,
      enumerable: true,
      get: () => {
        const target = source();
        if (target) last = target.value;
        return last;
      },
      set: (value: IBaseWidget['value']) => {
        const target = source();
        if (target) target.value = value;
        last = value;
      },
    });
    (widget as ProxyWidget)[PROXY] = ref;
  }
}

/**
 * The inner widget a proxy names: the node at `ref.nodePath` inside the instance's subgraph (through nested instances
 * for `a:b` paths) and its widget of that name.
 */
function resolveProxied(node: SubgraphNode, ref: ProxyWidgetRef): IBaseWidget | undefined {
  let graph: LGraph | Subgraph = node.subgraph;
  let inner: LGraphNode | null = null;
  for (const [i, id] of ref.nodePath.entries()) {
    inner = graph.getNodeById(id) ?? graph.getNodeById(Number(id));
    if (!inner) return undefined;
    if (i < ref.nodePath.length - 1) {
      if (!(inner instanceof SubgraphNode)) return undefined;
      graph = inner.subgraph;
    }
  }
  return inner?.widgets?.find((w) => w.name === ref.widgetName);
}
