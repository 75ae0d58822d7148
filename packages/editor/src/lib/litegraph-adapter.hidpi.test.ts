// @vitest-environment jsdom
// The adapter's high-DPI drawing: a backing store devicePixelRatio times the CSS size, a scaled context, and
// positions that stay in CSS pixels. (The click-to-select check in a real browser is in test/e2e/editor.test.ts.)
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GraphEditor } from './litegraph-adapter.ts';
import { stubCanvasContext, testObjectInfo } from './test-support.ts';

let restore: () => void;
let editor: GraphEditor | undefined;
const setRatio = (ratio: number) => Object.defineProperty(window, 'devicePixelRatio', { value: ratio, configurable: true });

beforeAll(() => {
  restore = stubCanvasContext();
});
afterEach(() => {
  editor?.destroy();
  setRatio(1);
});
afterAll(() => restore());

function makeEditor(): GraphEditor {
  const canvas = document.createElement('canvas');
  document.body.appendChild(canvas);
  const made = new GraphEditor(canvas, {}, document.createElement('div'));
  made.registerNodeTypes(testObjectInfo());
  return made;
}

describe('GraphEditor.resize at devicePixelRatio', () => {
  it('makes the backing store (and litegraph\'s background layer) twice the CSS size at ratio 2, scaling the context', () => {
    setRatio(2);
    editor = makeEditor();
    const setTransform = vi.fn();
    (editor.canvas.ctx as unknown as { setTransform: unknown }).setTransform = setTransform;
    editor.resize(800, 600);
    const el = editor.canvas.canvas;
    expect([el.width, el.height]).toEqual([1600, 1200]);
    expect([el.style.width, el.style.height]).toEqual(['800px', '600px']);
    expect([editor.canvas.bgcanvas.width, editor.canvas.bgcanvas.height]).toEqual([1600, 1200]);
    expect(setTransform).toHaveBeenLastCalledWith(2, 0, 0, 2, 0, 0);
    expect(editor.pixelRatio).toBe(2);
    expect(editor.drawFrame()).toBeGreaterThanOrEqual(0);
  });

  it('keeps page positions in CSS pixels and fits the view to the CSS size', () => {
    setRatio(2);
    editor = makeEditor();
    editor.resize(800, 600);
    // jsdom lays nothing out: the canvas sits at the page origin.
    expect(editor.toGraphPos(100, 50)).toEqual([100, 50]);
    editor.canvas.ds.scale = 2;
    expect(editor.toGraphPos(100, 50)).toEqual([50, 25]);
    const node = editor.addNode('VAEDecode', [1000, 700])!;
    editor.fitView();
    // litegraph fits to element.width / devicePixelRatio: the node's centre lands mid-canvas in CSS pixels.
    const [cx, cy] = editor.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + node.size[1] / 2 - 15]);
    expect(Math.abs(cx! - 400)).toBeLessThan(1);
    expect(Math.abs(cy! - 300)).toBeLessThan(1);
  });

  it('stays at one device pixel per CSS pixel at ratio 1, and rounds fractional ratios', () => {
    editor = makeEditor();
    editor.resize(801.4, 600);
    expect([editor.canvas.canvas.width, editor.canvas.canvas.height]).toEqual([801, 600]);
    expect(editor.pixelRatio).toBe(1);
    setRatio(1.5);
    editor.resize(801, 601);
    expect([editor.canvas.canvas.width, editor.canvas.canvas.height]).toEqual([1202, 902]);
  });
});
