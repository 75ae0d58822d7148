/**
 * ComfyUI's step after each queue: every widget with a `control_after_generate` moves on by its mode. Seeds and other
 * numbers step or randomise; combos step through (or pick from) their list filtered by `control_filter_list`.
 * Widgets fed by a link stay; muted nodes stay; proxies stay (their inner widget steps on its own node, once however
 * many instances show it). The rules without litegraph live in `../seed-control.ts` and `../primitive-node.ts`.
 */
import type { LGraph, LGraphNode } from '@comfyorg/litegraph';
import { nextComboValue, PRIMITIVE_TYPE } from '../primitive-node.ts';
import { nextSeed } from '../seed-control.ts';
import { allNodes } from './node-state.ts';
import { CONTROL_FILTER, SEED_CONTROL } from './node-widgets.ts';
import { isProxyWidget } from './subgraph-proxies.ts';

/** Steps every controlled widget of `graph` (and its subgraphs); returns the primitives that moved (to push). */
export function applyControlAfterGenerate(graph: LGraph, random: () => number): LGraphNode[] {
  const movedPrimitives: LGraphNode[] = [];
  for (const node of allNodes(graph)) {
    const widgets = node.widgets ?? [];
    let moved = false;
    for (let i = 0; i < widgets.length; i++) {
      const control = widgets[i];
      const target = widgets[i - 1];
      if (!control || !target || control.name !== SEED_CONTROL) continue;
      if (isProxyWidget(control) || isProxyWidget(target)) continue;
      if (node.getSlotFromWidget(target)?.link != null || node.mode === 2) continue;
      if (target.type === 'number') {
        const opts = target.options as { min?: number; max?: number; step2?: number };
        target.value = nextSeed(Number(target.value), String(control.value), {
          min: opts.min ?? 0, max: opts.max ?? Number.MAX_SAFE_INTEGER, step: opts.step2 ?? 1,
        }, random);
      } else if (target.type === 'combo') {
        const filter = widgets[i + 1]?.name === CONTROL_FILTER ? String(widgets[i + 1]!.value ?? '') : '';
        const values = (target.options as { values?: unknown }).values;
        if (!Array.isArray(values)) continue;
        target.value = nextComboValue(values.map(String), String(target.value), String(control.value), filter, random);
      } else continue;
      moved = true;
    }
    if (moved && node.type === PRIMITIVE_TYPE) movedPrimitives.push(node);
  }
  return movedPrimitives;
}
