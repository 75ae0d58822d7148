/**
 * The shapes the editor and the adapter's parts share: the workflow type, the hooks the editor gives the canvas, the
 * search request, and the context every part of the adapter works on.
 */
import type { ISerialisedGraph, LGraph, LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';

/** A ComfyUI UI workflow as litegraph writes it (version 0.4, with subgraph definitions when present). */
export type UiWorkflow = ISerialisedGraph;

/** Which way a dropped link was heading, so the search can offer nodes that fit. */
export interface SearchRequest {
  /** Where to put the new node, in graph coordinates. */
  graphPos: [number, number];
  /** Where to show the search box, in page coordinates. */
  clientPos: [number, number];
  /** A link dragged out of an output: show nodes with an input of this type. */
  inputType?: string;
  /** A link dragged out of an input: show nodes with an output of this type. */
  outputType?: string;
  /** Opaque: pass it back to `GraphEditor.addNode` to connect the new node. */
  pending?: PendingLink;
}

/** A double-click on a node's or group's title: edit the title in place. */
export interface RenameRequest {
  kind: 'node' | 'group';
  title: string;
  /** The title bar in page coordinates, where the editing box goes. */
  rect: { left: number; top: number; width: number; height: number };
  /** Sets the new title (blank keeps the old one) and reports the change. */
  commit(title: string): void;
}

/** "Open in MaskEditor" on a node with an image upload widget: paint a mask over its picture. */
export interface MaskEditRequest {
  /** The widget's value: the stored input name (`a.png`, `clipspace/m.png [input]`). */
  imageName: string;
  /** The picture the node shows. */
  imageUrl: string;
  /** Points the node at the stored masked picture. */
  commit(name: string): void;
}

export interface PendingLink {
  node: LGraphNode;
  slot: number;
  direction: 'from-output' | 'from-input';
}

export interface GraphEditorHooks {
  /** The graph changed (a widget, a link, a move): autosave and the undo history listen here. */
  onChange?(): void;
  /** Double-click on empty canvas, or a link released over empty canvas. */
  onSearch?(request: SearchRequest): void;
  /** Double-click on a node's or group's title. */
  onRename?(request: RenameRequest): void;
  /** The LoadImage upload button: upload and return the stored name. */
  uploadImage?(file: File): Promise<string>;
  /** The URL for an input image shown on LoadImage nodes. */
  inputImageUrl?(name: string): string;
  /** The graph shown changed (entering or leaving a subgraph). */
  onGraphPathChange?(path: string[]): void;
  onSelectionChange?(count: number): void;
  /** Open in MaskEditor, from an image node's menu. */
  onMaskEdit?(request: MaskEditRequest): void;
  /** A short message for the user (an image copied, a save that failed). */
  onNotice?(kind: 'info' | 'error', text: string): void;
}

/** What every part of the adapter works on: litegraph's graph and canvas, the editor's hooks and its change report. */
export interface GraphContext {
  readonly graph: LGraph;
  readonly canvas: LGraphCanvas;
  readonly hooks: GraphEditorHooks;
  /** True while a workflow loads: changes are not reported, and primitives wait for their targets' saved values. */
  loading: boolean;
  /** Reports a change to the editor (autosave, undo) unless a workflow is loading. */
  changed(): void;
}
