/**
 * ComfyUI's `properties.proxyWidgets` on a subgraph instance, without litegraph: which inner widgets the instance
 * shows directly. The front end saves a list of `[innerNodeId, widgetName]` pairs (older releases saved the list as a
 * JSON string; newer ones may add a third and fourth item, the deepest source node and a legacy inline value, which
 * do not change which widget is meant). Node id `-1` stands for the subgraph's own inputs, whose promoted widgets
 * litegraph already shows, and names starting `$$` are image previews rather than widgets.
 */

/** One proxied widget: the inner node (an id, or an `a:b` path through nested instances) and its widget's name. */
export interface ProxyWidgetRef {
  /** Node ids from the instance's subgraph down: `['20']`, or `['23', '6']` into a nested instance. */
  nodePath: string[];
  widgetName: string;
}

/** The node id ComfyUI writes for widgets promoted through the subgraph's inputs. */
export const SUBGRAPH_INPUT_NODE_ID = '-1';

/**
 * The inner widgets a `properties.proxyWidgets` value asks the instance to show, in order, leaving out the subgraph
 * input entries (`-1`) and image previews (`$$…`). Malformed values and entries are skipped, never thrown, so a
 * workflow from a newer front end still opens.
 */
export function proxyWidgetRefs(property: unknown): ProxyWidgetRef[] {
  let list = property;
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list) as unknown;
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  const refs: ProxyWidgetRef[] = [];
  for (const entry of list) {
    if (!Array.isArray(entry) || entry.length < 2) continue;
    const [id, name] = entry as unknown[];
    if ((typeof id !== 'string' && typeof id !== 'number') || typeof name !== 'string' || !name) continue;
    const nodeId = String(id);
    if (nodeId === SUBGRAPH_INPUT_NODE_ID || name.startsWith('$$')) continue;
    const nodePath = nodeId.split(':');
    if (nodePath.some((part) => part === '')) continue;
    refs.push({ nodePath, widgetName: name });
  }
  return refs;
}
