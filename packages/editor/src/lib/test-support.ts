/**
 * Test support for the editor's unit tests (imported only by *.test.ts): /object_info entries for the ComfyUI classes
 * the USO workflows use, a test PNG maker, and a 2D canvas context stand-in so litegraph runs under jsdom.
 */
import { afterAll, beforeAll, vi } from 'vitest';
import type { ObjectInfo, ObjectInfoEntry } from './object-info.ts';

type Inputs = Record<string, unknown[]>;

function entry(name: string, required: Inputs, output: string[], extra: { optional?: Inputs; outputNode?: boolean; title?: string; category?: string } = {}): ObjectInfoEntry {
  return {
    input: { required, ...(extra.optional ? { optional: extra.optional } : {}) },
    input_order: { required: Object.keys(required), ...(extra.optional ? { optional: Object.keys(extra.optional) } : {}) },
    output,
    output_is_list: output.map(() => false),
    output_name: output,
    name,
    display_name: extra.title ?? name,
    description: '',
    category: extra.category ?? 'test',
    output_node: extra.outputNode ?? false,
    python_module: 'nodes',
  };
}

const files = (...names: string[]) => [names];

/** The classes of ComfyUI's USO template (and the examples), with ComfyUI's input names, order and options. */
export function testObjectInfo(): ObjectInfo {
  const list = [
    entry('CheckpointLoaderSimple', { ckpt_name: files('flux1-dev-fp8.safetensors') }, ['MODEL', 'CLIP', 'VAE'], { title: 'Load Checkpoint', category: 'loaders' }),
    entry('LoraLoaderModelOnly', { model: ['MODEL'], lora_name: files('uso-flux1-dit-lora-v1.safetensors'), strength_model: ['FLOAT', { default: 1, min: -100, max: 100, step: 0.01 }] }, ['MODEL'], { category: 'loaders' }),
    entry('ModelPatchLoader', { name: files('uso-flux1-projector-v1.safetensors') }, ['MODEL_PATCH'], { category: 'loaders' }),
    entry('CLIPVisionLoader', { clip_name: files('sigclip_vision_patch14_384.safetensors') }, ['CLIP_VISION'], { title: 'Load CLIP Vision', category: 'loaders' }),
    entry('CLIPVisionEncode', { clip_vision: ['CLIP_VISION'], image: ['IMAGE'], crop: [['center', 'none']] }, ['CLIP_VISION_OUTPUT']),
    entry('USOStyleReference', { model: ['MODEL'], model_patch: ['MODEL_PATCH'], clip_vision_output: ['CLIP_VISION_OUTPUT'] }, ['MODEL']),
    entry('LoadImage', { image: [['input.png', 'flux1_dev_uso_reference_image_gen_input_image.png'], { image_upload: true }] }, ['IMAGE', 'MASK'], { title: 'Load Image', category: 'image' }),
    entry('ImageScaleToMaxDimension', { image: ['IMAGE'], upscale_method: [['area', 'lanczos']], largest_size: ['INT', { default: 512, min: 0, max: 16384, step: 1 }] }, ['IMAGE']),
    entry('VAEEncode', { pixels: ['IMAGE'], vae: ['VAE'] }, ['LATENT'], { title: 'VAE Encode', category: 'latent' }),
    entry('VAEDecode', { samples: ['LATENT'], vae: ['VAE'] }, ['IMAGE'], { title: 'VAE Decode', category: 'latent' }),
    entry('CLIPTextEncode', { text: ['STRING', { multiline: true, dynamicPrompts: true }], clip: ['CLIP'] }, ['CONDITIONING'], { title: 'CLIP Text Encode (Prompt)', category: 'conditioning' }),
    entry('ConditioningZeroOut', { conditioning: ['CONDITIONING'] }, ['CONDITIONING']),
    entry('ReferenceLatent', { conditioning: ['CONDITIONING'] }, ['CONDITIONING'], { optional: { latent: ['LATENT'] } }),
    entry('FluxGuidance', { conditioning: ['CONDITIONING'], guidance: ['FLOAT', { default: 3.5, min: 0, max: 100, step: 0.1 }] }, ['CONDITIONING']),
    entry('FluxKontextMultiReferenceLatentMethod', { conditioning: ['CONDITIONING'], reference_latents_method: [['offset', 'index', 'uxo/uno', 'uso']] }, ['CONDITIONING']),
    entry('EmptyLatentImage', { width: ['INT', { default: 512, min: 16, max: 16384, step: 8 }], height: ['INT', { default: 512, min: 16, max: 16384, step: 8 }], batch_size: ['INT', { default: 1, min: 1, max: 4096 }] }, ['LATENT'], { title: 'Empty Latent Image', category: 'latent' }),
    entry('EmptySD3LatentImage', { width: ['INT', { default: 1024, min: 16, max: 16384, step: 16 }], height: ['INT', { default: 1024, min: 16, max: 16384, step: 16 }], batch_size: ['INT', { default: 1, min: 1, max: 4096 }] }, ['LATENT']),
    entry('KSampler', {
      model: ['MODEL'],
      seed: ['INT', { default: 0, min: 0, max: 0xffffffffffffffff, control_after_generate: true }],
      steps: ['INT', { default: 20, min: 1, max: 10000 }],
      cfg: ['FLOAT', { default: 8, min: 0, max: 100, step: 0.1, round: 0.01 }],
      sampler_name: [['euler', 'dpmpp_2m']],
      scheduler: [['simple', 'karras']],
      positive: ['CONDITIONING'],
      negative: ['CONDITIONING'],
      latent_image: ['LATENT'],
      denoise: ['FLOAT', { default: 1, min: 0, max: 1, step: 0.01 }],
    }, ['LATENT'], { category: 'sampling' }),
    entry('EasyCache', { model: ['MODEL'], reuse_threshold: ['FLOAT', { default: 0.2 }], start_percent: ['FLOAT', { default: 0.15 }], end_percent: ['FLOAT', { default: 0.95 }], verbose: ['BOOLEAN', { default: false }] }, ['MODEL']),
    entry('SaveImage', { images: ['IMAGE'], filename_prefix: ['STRING', { default: 'ComfyUI' }] }, [], { outputNode: true, title: 'Save Image', category: 'image' }),
    entry('IntConstant', { value: ['INT', { default: 0, min: 0, max: 100 }] }, ['INT'], { category: 'utils' }),
    entry('PreviewImage', { images: ['IMAGE'] }, [], { outputNode: true, title: 'Preview Image', category: 'image' }),
  ];
  return Object.fromEntries(list.map((e) => [e.name, e]));
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
