/**
 * Test support for the editor's unit tests (imported only by *.test.ts): /object_info entries for the ComfyUI classes
 * the USO workflows use, a test PNG maker, and a 2D canvas context stand-in so litegraph runs under jsdom.
 */
import { afterAll, beforeAll, vi } from 'vitest';
import { entry, usoObjectInfo } from '../../../core/src/formats/test-object-info.ts';
import type { ObjectInfo } from './object-info.ts';

/** The menu categories ComfyUI gives these classes (core's fixture files them all under 'test'). */
const CATEGORIES: Record<string, string> = {
  CheckpointLoaderSimple: 'loaders',
  LoraLoaderModelOnly: 'loaders',
  ModelPatchLoader: 'loaders',
  CLIPVisionLoader: 'loaders',
  LoadImage: 'image',
  SaveImage: 'image',
  VAEEncode: 'latent',
  VAEDecode: 'latent',
  EmptyLatentImage: 'latent',
  CLIPTextEncode: 'conditioning',
  KSampler: 'sampling',
};

/**
 * The classes of ComfyUI's USO template (and the examples), with ComfyUI's input names, order and options: core's
 * fixture entries, filed under their menu categories, plus two classes the editor's tests add to graphs.
 */
export function testObjectInfo(): ObjectInfo {
  const info = usoObjectInfo();
  for (const [name, category] of Object.entries(CATEGORIES)) info[name]!.category = category;
  info.EmptyLatentImage!.display_name = 'Empty Latent Image';
  // The template's own input picture is in the list, so its LoadImage value is valid.
  info.LoadImage!.input.required.image = [['input.png', 'flux1_dev_uso_reference_image_gen_input_image.png'], { image_upload: true }];
  info.IntConstant = entry('IntConstant', { value: ['INT', { default: 0, min: 0, max: 100 }] }, ['INT'], { category: 'utils' });
  info.PreviewImage = entry('PreviewImage', { images: ['IMAGE'] }, [], { outputNode: true, displayName: 'Preview Image', category: 'image' });
  return info;
}

/**
 * Makes `canvas.getContext('2d')` return a context that records nothing, so litegraph can draw under jsdom
 * (jsdom has no canvas), and provides Path2D. Returns a function that restores `getContext`.
 */
export function stubCanvasContext(): () => void {
  const proto = HTMLCanvasElement.prototype as unknown as { getContext: (...args: unknown[]) => unknown };
  const original = proto.getContext;
  proto.getContext = function (this: HTMLCanvasElement) {
    const canvas = this;
    const state: Record<string | symbol, unknown> = { canvas, font: '10px sans-serif', globalAlpha: 1, lineWidth: 1 };
    const noop = () => undefined;
    const gradient = { addColorStop: noop };
    const special: Record<string, unknown> = {
      measureText: (text: string) => ({ width: String(text).length * 7, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 }),
      createLinearGradient: () => gradient,
      createRadialGradient: () => gradient,
      createPattern: () => ({}),
      getTransform: () => ({ a: 1, b: 0, c: 0, d: 1, e: 0, f: 0 }),
      getImageData: () => ({ data: new Uint8ClampedArray(4) }),
      isPointInPath: () => false,
      getLineDash: () => [],
    };
    return new Proxy(state, {
      get(target, key) {
        if (key in target) return target[key];
        if (typeof key === 'string' && key in special) return special[key];
        return noop;
      },
      set(target, key, value) {
        target[key] = value;
        return true;
      },
    });
  };
  const g = globalThis as { Path2D?: unknown };
  const hadPath2D = 'Path2D' in g;
  if (!hadPath2D) {
    g.Path2D = class {
      moveTo() {}
      lineTo() {}
      bezierCurveTo() {}
      quadraticCurveTo() {}
      arc() {}
      arcTo() {}
      ellipse() {}
      rect() {}
      roundRect() {}
      closePath() {}
      addPath() {}
    };
  }
  // Path2D stays: render loops of canvases a test did not stop may still draw after the restore.
  return () => {
    proto.getContext = original;
  };
}

/** A 1×1 PNG carrying `text` as tEXt/iTXt chunks (ComfyUI's `workflow` and `prompt`), built with core's PNG writer. */
export async function pngWithText(text: Record<string, string>): Promise<Uint8Array> {
  const { PNG_SIGNATURE, makeChunk, zlibDeflate, insertPngTextChunks } = await import('@uso-studio/core');
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, 1);
  view.setUint32(4, 1);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [PNG_SIGNATURE, makeChunk('IHDR', ihdr), makeChunk('IDAT', await zlibDeflate(new Uint8Array([0, 255, 0, 0]))), makeChunk('IEND', new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    png.set(p, offset);
    offset += p.length;
  }
  return insertPngTextChunks(png, text);
}

/**
 * For a test file that loads workflows into a GraphEditor: the canvas stand-in for the whole file, with litegraph's
 * warnings silenced (it warns while it wires nested subgraph definitions configured after their first instance).
 * Registered first, its teardown runs after the file's own (vitest runs after-hooks in stack order).
 */
export function useStubbedCanvas(): void {
  let restore: (() => void) | undefined;
  beforeAll(() => {
    restore = stubCanvasContext();
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => {
    restore?.();
    vi.restoreAllMocks();
  });
}
