/**
 * The widgets a planned /object_info input becomes on a node: numbers with min/max/step/rounding, combos (LoadImage's
 * with its upload button and picture), toggles, text, multiline text areas, and `control_after_generate` /
 * `control_filter_list` after seeds and combos.
 */
import type { LGraphNode } from '@comfyorg/litegraph';
import { CONTROL_MODES, normaliseNumber, type PlannedWidget } from '../object-info.ts';
import type { NodeImages } from './node-images.ts';
import type { TextAreas } from './text-areas.ts';
import type { GraphContext } from './types.ts';

/** ComfyUI's names for the widgets that follow a seed or combo. */
export const SEED_CONTROL = 'control_after_generate';
export const CONTROL_FILTER = 'control_filter_list';

export class NodeWidgets {
  #context: GraphContext;
  #textAreas: TextAreas;
  #images: NodeImages;

  constructor(context: GraphContext, textAreas: TextAreas, images: NodeImages) {
    this.#context = context;
    this.#textAreas = textAreas;
    this.#images = images;
  }

  /** Adds one planned widget; `onValue` runs on each change before the change is reported (primitives push there). */
  add(node: LGraphNode, item: PlannedWidget, onValue?: () => void): void {
    const changed = () => {
      onValue?.();
      this.#context.changed();
    };
    if (item.kind === 'control') {
      node.addWidget('combo', SEED_CONTROL, 'randomize', changed, { values: [...CONTROL_MODES] });
      return;
    }
    if (item.kind === 'filter') {
      node.addWidget('text', CONTROL_FILTER, '', changed, {});
      return;
    }
    if (item.kind === 'upload') {
      // The saved value 'image' keeps widgets_values in ComfyUI's layout.
      node.addWidget('button', 'upload', 'image', () => this.#images.pickAndUpload(node, item.of), {});
      return;
    }
    const spec = item.spec;
    switch (spec.kind) {
      case 'number': {
        const widget = node.addWidget('number', spec.name, spec.value, (v: number) => {
          widget.value = normaliseNumber(Number(v), spec);
          changed();
        }, { min: spec.min, max: spec.max, step2: spec.step, step: spec.step * 10, precision: spec.precision });
        return;
      }
      case 'combo': {
        node.addWidget('combo', spec.name, spec.value, (v: string) => {
          if (spec.imageUpload) this.#images.showInputImage(node, v);
          changed();
        }, { values: spec.values });
        if (spec.imageUpload && spec.value) this.#images.showInputImage(node, spec.value);
        return;
      }
      case 'toggle':
        node.addWidget('toggle', spec.name, spec.value, changed, { on: spec.labelOn ?? 'true', off: spec.labelOff ?? 'false' });
        return;
      case 'text':
        if (spec.multiline) this.#textAreas.add(node, spec.name, spec.value, spec.placeholder, onValue);
        else node.addWidget('text', spec.name, spec.value, changed, {});
        return;
    }
  }
}
