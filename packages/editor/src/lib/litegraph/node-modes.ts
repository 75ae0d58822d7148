/**
 * How a node's mode looks, as in ComfyUI: a muted node (mode 2, "never") is drawn faded, a bypassed node (mode 4) is
 * drawn purple and more faded still. litegraph draws every mode alike, so the canvas's node drawing is wrapped to
 * set the fade and colour for the one node being drawn and put them back afterwards.
 */
import type { LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';

export const MUTED_MODE = 2;
export const BYPASS_MODE = 4;
/** ComfyUI's look: muted nodes at 40% opacity, bypassed ones magenta at 20%. */
const MUTED_ALPHA = 0.4;
const BYPASS_ALPHA = 0.2;
const BYPASS_BGCOLOR = '#FF00FF';

/** The opacity and body colour a node of `mode` is drawn with (null: its own). */
export function modeLook(mode: number): { alpha: number; bgcolor: string | null } | null {
  if (mode === MUTED_MODE) return { alpha: MUTED_ALPHA, bgcolor: null };
  if (mode === BYPASS_MODE) return { alpha: BYPASS_ALPHA, bgcolor: BYPASS_BGCOLOR };
  return null;
}

/** Makes `canvas` draw muted and bypassed nodes in their look. */
export function drawNodeModes(canvas: LGraphCanvas): void {
  const drawNode = canvas.drawNode.bind(canvas);
  canvas.drawNode = (node: LGraphNode, ctx: CanvasRenderingContext2D) => {
    const look = modeLook(node.mode);
    if (!look) return drawNode(node, ctx);
    const alpha = canvas.editor_alpha;
    const bgcolor = node.bgcolor;
    canvas.editor_alpha = alpha * look.alpha;
    if (look.bgcolor) node.bgcolor = look.bgcolor;
    try {
      return drawNode(node, ctx);
    } finally {
      canvas.editor_alpha = alpha;
      node.bgcolor = bgcolor;
    }
  };
}
