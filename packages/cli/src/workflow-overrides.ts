/**
 * Carries `--set` overrides into the UI workflow an output PNG keeps, so the workflow a run saves is the one that ran:
 * dropping the PNG on an editor, or running it again headless, gives the same inputs and the same pixels. Each changed
 * widget input of the API prompt is written to its node's `widgets_values` slot (by ComfyUI's widget layout); nodes
 * inside subgraphs are found through their execution id (`<instance>:<inner>`), in the subgraph definition.
 */
import { widgetLayout, type ApiPrompt, type ObjectInfoEntry } from '@uso-studio/core';

interface UiNode {
  id: number | string;
  type: string;
  widgets_values?: unknown;
}
interface UiWorkflow {
  nodes?: UiNode[];
  definitions?: { subgraphs?: { id: string; nodes?: UiNode[] }[] };
}

/**
 * A copy of `workflow` with the widget values that differ between `before` and `after` (the API prompt without and
 * with the overrides) written in. Inputs that are not widgets of the node (links, promoted subgraph widgets) are left.
 */
export function workflowWithOverrides(
  workflow: unknown,
  before: ApiPrompt,
  after: ApiPrompt,
  objectInfo: Record<string, ObjectInfoEntry>,
): unknown {
  const copy = structuredClone(workflow) as UiWorkflow;
  for (const [id, node] of Object.entries(after)) {
    for (const [input, value] of Object.entries(node.inputs)) {
      if (Array.isArray(value) || JSON.stringify(before[id]?.inputs[input]) === JSON.stringify(value)) continue;
      const uiNode = findNode(copy, id);
      const entry = uiNode ? objectInfo[uiNode.type] : undefined;
      if (!uiNode || !entry || !Array.isArray(uiNode.widgets_values)) continue;
      const slot = widgetLayout(entry).findIndex((s) => s.kind === 'input' && s.name === input);
      if (slot >= 0 && slot < uiNode.widgets_values.length) uiNode.widgets_values[slot] = value;
    }
  }
  return copy;
}

function findNode(workflow: UiWorkflow, executionId: string): UiNode | undefined {
  const path = executionId.split(':');
  let nodes = workflow.nodes ?? [];
  for (const step of path.slice(0, -1)) {
    const instance = nodes.find((n) => String(n.id) === step);
    const definition = workflow.definitions?.subgraphs?.find((d) => d.id === instance?.type);
    if (!definition) return undefined;
    nodes = definition.nodes ?? [];
  }
  return nodes.find((n) => String(n.id) === path.at(-1));
}
