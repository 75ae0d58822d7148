/**
 * litegraph node classes: one per /object_info entry (sockets, widgets, images and run decorations), the front end's
 * own Note, MarkdownNote, Reroute and PrimitiveNode, and one per subgraph definition. Classes are registered again by
 * each editor (and again when /object_info is refreshed, since combo lists change): they call back into its parts.
 */
import { LGraphCanvas, LGraphNode, LiteGraph, SubgraphNode, type LGraph, type Subgraph } from '@comfyorg/litegraph';
import { renderMarkdown } from '../markdown.ts';
import type { NodePlan, ObjectInfo } from '../object-info.ts';
import { planNode } from '../object-info.ts';
import { PRIMITIVE_IDLE_OUTPUT, PRIMITIVE_REPLACE_PROPERTY, PRIMITIVE_TYPE } from '../primitive-node.ts';
import { slotColor } from '../slot-colors.ts';
import type { ExecutionDisplay } from './execution-display.ts';
import type { ImageMenu } from './image-menu.ts';
import type { NodeImages } from './node-images.ts';
import { allNodes, setPlan } from './node-state.ts';
import type { NodeWidgets } from './node-widgets.ts';
import type { Primitives } from './primitives.ts';
import type { SubgraphProxies } from './subgraph-proxies.ts';
import type { TextAreas } from './text-areas.ts';
import type { GraphContext } from './types.ts';

export interface NodeClassParts {
  widgets: NodeWidgets;
  images: NodeImages;
  imageMenu: ImageMenu;
  textAreas: TextAreas;
  execution: ExecutionDisplay;
  primitives: Primitives;
  proxies: SubgraphProxies;
}

export class NodeClasses {
  #context: GraphContext;
  #parts: NodeClassParts;
  #plans = new Map<string, NodePlan>();

  constructor(context: GraphContext, parts: NodeClassParts) {
    this.#context = context;
    this.#parts = parts;
  }

  /** Registers one litegraph class per /object_info entry (again for classes already registered: combos change). */
  register(info: ObjectInfo): void {
    for (const entry of Object.values(info)) {
      const plan = planNode(entry);
      this.#plans.set(plan.type, plan);
      for (const input of plan.inputs) this.#colourType(input.type);
      for (const output of plan.outputs) this.#colourType(output.type);
      const classes = this;
      class ComfyNode extends LGraphNode {
        static override title = plan.title;
        constructor(title?: string) {
          super(title ?? plan.title, plan.type);
          classes.#build(this, plan);
        }

        // litegraph copies saved slots over the constructed ones index by index, so a file listing fewer inputs
        // (older ComfyUI saves only converted widget sockets) would keep stale slots; start from the file's list.
        override configure(info: Parameters<LGraphNode['configure']>[0]): void {
          if (Array.isArray(info.inputs)) this.inputs = [];
          if (Array.isArray(info.outputs)) this.outputs = [];
          super.configure(info);
        }
      }
      LiteGraph.registerNodeType(plan.type, ComfyNode);
      // Registering overwrites these two from the type name.
      ComfyNode.title = plan.title;
      (ComfyNode as unknown as { category: string }).category = plan.category;
      (ComfyNode as unknown as { description: string }).description = plan.description;
    }
  }

  /** Gives combo widgets on existing nodes the refreshed lists (models, input images). */
  refreshCombos(info: ObjectInfo): void {
    this.register(info);
    for (const node of allNodes(this.#context.graph)) {
      const plan = this.#plans.get(node.type);
      if (!plan) continue;
      for (const input of plan.inputs) {
        if (input.widget?.kind !== 'combo') continue;
        const widget = node.widgets?.find((w) => w.name === input.name);
        if (widget) (widget.options as { values: string[] }).values = input.widget.values;
      }
    }
    this.#context.canvas.setDirty(true, true);
  }

  /** Registers the front end's own nodes: Note, MarkdownNote, Reroute and PrimitiveNode. */
  registerFrontendNodes(): void {
    const { textAreas, primitives } = this.#parts;
    /** Note shows its text as typed, MarkdownNote rendered (safe HTML from lib/markdown.ts). */
    const noteClass = (type: string, render?: (text: string) => string) => class extends LGraphNode {
      constructor(title?: string) {
        super(title ?? type, type);
        this.isVirtualNode = true;
        this.serialize_widgets = true;
        textAreas.add(this, 'text', '', undefined, undefined, render);
        this.color = '#432';
        this.bgcolor = '#653';
        this.size = [400, 160];
      }
    };
    const NoteNode = noteClass('Note');
    const MarkdownNoteNode = noteClass('MarkdownNote', renderMarkdown);
    class RerouteNode extends LGraphNode {
      constructor(title?: string) {
        super(title ?? 'Reroute', 'Reroute');
        this.isVirtualNode = true;
        this.addInput('', '*');
        this.addOutput('', '*');
        this.size = [75, 26];
      }
    }
    // ComfyUI's PrimitiveNode: a virtual node whose output feeds widget inputs; once linked it shows the first
    // target's widget and pushes its value to every target.
    class PrimitiveNode extends LGraphNode {
      constructor(title?: string) {
        super(title ?? 'Primitive', PRIMITIVE_TYPE);
        this.addOutput(PRIMITIVE_IDLE_OUTPUT, '*');
        this.serialize_widgets = true;
        this.isVirtualNode = true;
        this.properties[PRIMITIVE_REPLACE_PROPERTY] = false;
        this.onConnectOutput = (_slot, _type, input, target) => primitives.accepts(this, input, target);
        this.onConnectionsChange = (type, _index, connected) => {
          if (type === LiteGraph.OUTPUT) primitives.linksChanged(this, connected);
        };
      }
    }
    for (const [type, cls, category, title] of [
      ['Note', NoteNode, 'utils', 'Note'], ['MarkdownNote', MarkdownNoteNode, 'utils', 'MarkdownNote'],
      ['Reroute', RerouteNode, 'utils', 'Reroute'], [PRIMITIVE_TYPE, PrimitiveNode, 'utils', 'Primitive'],
    ] as const) {
      LiteGraph.registerNodeType(type, cls);
      cls.title = title;
      (cls as unknown as { category: string }).category = category;
    }
  }

  /** A subgraph definition needs a node class under its id before its instances are created. */
  registerSubgraph(subgraph: Subgraph): void {
    const root: LGraph = this.#context.graph;
    const { proxies } = this.#parts;
    class SubgraphInstance extends SubgraphNode {
      constructor() {
        super(root, subgraph, {
          id: -1, type: subgraph.id, pos: [0, 0], size: [200, 100], inputs: [], outputs: [], flags: {}, order: 0, mode: 0,
        } as unknown as ConstructorParameters<typeof SubgraphNode>[2]);
        // ComfyUI saves the promoted inputs' values in the instance's widgets_values (core reads them there);
        // litegraph's SubgraphNode would leave them out.
        this.serialize_widgets = true;
        // Each configure (load, paste, undo) rebuilds the promoted widgets; the proxied ones follow them.
        this.onConfigure = () => proxies.attach(this);
      }
    }
    LiteGraph.registerNodeType(subgraph.id, SubgraphInstance as unknown as typeof LGraphNode);
    (SubgraphInstance as unknown as { title: string }).title = subgraph.name;
    (SubgraphInstance as unknown as { category: string }).category = 'subgraph';
    (SubgraphInstance as unknown as { skip_list: boolean }).skip_list = true;
  }

  #build(node: LGraphNode, plan: NodePlan): void {
    const { widgets, images, imageMenu, execution } = this.#parts;
    setPlan(node, plan);
    node.serialize_widgets = true;
    for (const item of plan.widgets) widgets.add(node, item);
    for (const input of plan.inputs) {
      if (input.widget) node.addInput(input.name, input.type, { widget: { name: input.name } });
      else node.addInput(input.name, input.type, input.optional ? { shape: LiteGraph.CIRCLE_SHAPE } : {});
    }
    for (const output of plan.outputs) {
      node.addOutput(output.name, output.type, output.isList ? { shape: LiteGraph.GRID_SHAPE } : {});
    }
    const size = node.computeSize();
    node.size = [Math.max(size[0] ?? 0, 220), size[1] ?? 60];
    if (plan.inputs.some((i) => i.widget?.kind === 'combo' && i.widget.imageUpload)) images.ensureRoom(node);
    node.onConfigure = function () {
      // Files from older ComfyUI list only the widget inputs that were converted; give every widget back its socket,
      // keeping the saved size (adding a slot grows the node to its computed size).
      const saved: [number, number] = [this.size[0], this.size[1]];
      for (const input of plan.inputs) {
        if (!input.widget || this.inputs.some((i) => i.name === input.name)) continue;
        this.addInput(input.name, input.type, { widget: { name: input.name } });
      }
      this.size = saved;
      for (const input of plan.inputs) {
        if (input.widget?.kind !== 'combo' || !input.widget.imageUpload) continue;
        const widget = this.widgets?.find((x) => x.name === input.name);
        if (widget) images.showInputImage(this, String(widget.value));
      }
    };
    node.onDrawForeground = function (ctx) {
      execution.drawForeground(this, ctx);
    };
    node.onDrawBackground = function (ctx) {
      images.draw(this, ctx);
    };
    node.getExtraMenuOptions = function () {
      return imageMenu.entries(this);
    };
  }

  #colourType(type: string): void {
    const colour = slotColor(type);
    if (!colour) return;
    LGraphCanvas.link_type_colors[type] = colour;
    this.#context.canvas.default_connection_color_byType[type] = colour;
  }
}
