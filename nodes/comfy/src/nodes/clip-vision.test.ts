import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { Tensor } from '@uso-studio/runtime';
import { writeTinyFiles } from '../../../../packages/runtime/src/models/architectures/siglip-tiny.ts';
import { MODEL_SERVICE_KEY, createModelService } from '../models/model-service.ts';
import { makeTestHost, recordingContext } from '../test-support.ts';
import { clipVisionLoader } from './loaders.ts';
import { antialiasBicubicTaps, clipVisionEncode, clipVisionPreprocess, type ClipVisionOutput } from './clip-vision.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());

function image(h: number, w: number, f: (y: number, x: number, c: number) => number): Tensor<'float32'> {
  const d = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = f(y, x, c);
  return Tensor.float32([1, h, w, 3], d);
}

describe('antialiased bicubic taps', () => {
  it('match torch: a = -0.5, support widened by the scale when shrinking, normalised', () => {
    // Upscaling 2 -> 4: taps are Keys' a = -0.5 weights, cut at the edges and renormalised.
    const up = antialiasBicubicTaps(2, 4);
    expect(Array.from(up.start)).toEqual([0, 0, 0, 0]);
    expect(Array.from(up.size)).toEqual([2, 2, 2, 2]);
    // Output 0 sits at input coordinate 0.25; input pixel centres 0.5 and 1.5 -> f(0.25), f(1.25), normalised.
    const f = (x: number) => (x < 1 ? 1.5 * x ** 3 - 2.5 * x ** 2 + 1 : -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2);
    const w0 = f(0.25);
    const w1 = f(1.25);
    expect(up.weights[0]).toBeCloseTo(w0 / (w0 + w1), 12);
    // Downscaling 8 -> 2 (scale 4): support 8, 8 taps per output around centres 2 and 6.
    const down = antialiasBicubicTaps(8, 2);
    expect(Array.from(down.start)).toEqual([0, 0]);
    expect(Array.from(down.size)).toEqual([8, 8]);
    let sum = 0;
    for (let j = 0; j < 8; j++) sum += down.weights[j]!;
    expect(sum).toBeCloseTo(1, 12);
    expect(down.weights[1]).toBeCloseTo(down.weights[2]!, 12); // symmetric around centre 2
  });
});

describe('CLIPVisionEncode preprocessing', () => {
  it('keeps a 384x384 image, quantises to 1/255 and normalises with 0.5/0.5', () => {
    const px = clipVisionPreprocess(image(384, 384, () => 0.3), true);
    expect(px.shape).toEqual([1, 3, 384, 384]);
    // float32: 255 * 0.3f rounds to exactly 76.5, and torch.round goes to the even 76 (Math.round would say 77).
    expect(px.data[0]).toBeCloseTo((76 / 255 - 0.5) / 0.5, 6);
    const px2 = clipVisionPreprocess(image(384, 384, () => 0.9), true);
    expect(px2.data[5]).toBeCloseTo((230 / 255 - 0.5) / 0.5, 6);
  });

  it('centre mode scales the short side to 384 and crops the middle; none squashes', () => {
    // 100 x 200 image: left half black, right half white in every column band.
    const img = image(100, 200, (_y, x) => (x < 100 ? 0 : 1));
    const center = clipVisionPreprocess(img, true);
    // Scaled to 384 x 768 and cropped at x 192: the crop's left half is black, its right half white.
    expect(center.data[10]).toBeCloseTo(-1, 5);
    expect(center.data[383]).toBeCloseTo(1, 5);
    expect(center.data[180]).toBeCloseTo(-1, 5);
    const squash = clipVisionPreprocess(img, false);
    expect(squash.data[100]).toBeCloseTo(-1, 5);
    expect(squash.data[290]).toBeCloseTo(1, 5);
    // A uniform image stays uniform through the resize (weights sum to 1).
    const flat = clipVisionPreprocess(image(50, 70, () => 0.6), true);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of flat.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect(hi - lo).toBeLessThan(1e-6);
  });

  it('runs the vision encoder', async () => {
    const ctx = recordingContext(host.env);
    const [vision] = (await clipVisionLoader.execute({ clip_name: 'test-vision.safetensors' }, ctx)).outputs!;
    const [out] = (await clipVisionEncode.execute({ clip_vision: vision, image: image(384, 384, (_y, _x, c) => c * 0.5), crop: 'center' }, ctx)).outputs as [ClipVisionOutput];
    expect(out.last_hidden_state.shape).toEqual([1, 729, 4]);
    expect(out.hidden_states.shape).toEqual([1, 3, 729, 4]);
    // Test encoder channel k = mean of colour k % 3 over each 14x14 patch: colour c pixels are c*0.5 -> (c*0.5-0.5)/0.5.
    expect(out.last_hidden_state.data[0]).toBeCloseTo(-1, 4);
    expect(out.last_hidden_state.data[1]).toBeCloseTo(0, 2);
    expect(out.hidden_states.data[2 * 729 * 4 + 2]).toBeCloseTo(3 * 1, 4);
    expect(out.image_embeds).toBe(out.last_hidden_state);
    expect(out.penultimate_hidden_states.shape).toEqual([1, 729, 4]);
    expect(out.penultimate_hidden_states.data[2]).toBeCloseTo(3 * 1, 4);
  });
});

describe('CLIPVisionEncode with a real SigLIP architecture (toy config)', () => {
  it('preprocesses to the size the encoder declares and returns ComfyUI outputs', async () => {
    const root = mkdtempSync(join(tmpdir(), 'uso-siglip-node-'));
    const files = writeTinyFiles(join(root, 'tiny'));
    mkdirSync(join(root, 'models', 'clip_vision'), { recursive: true });
    copyFileSync(files.siglip.BF16, join(root, 'models', 'clip_vision', 'siglip-toy.safetensors'));
    const service = createModelService({ modelsDir: join(root, 'models'), cacheDir: join(root, 'cache'), threads: 1, log: () => {} });
    try {
      const env = { ...host.env, modelsDir: join(root, 'models'), services: { [MODEL_SERVICE_KEY]: service } };
      const ctx = recordingContext(env);
      const [vision] = (await clipVisionLoader.execute({ clip_name: 'siglip-toy.safetensors' }, ctx)).outputs!;
      const picture = image(30, 40, (y, x, c) => ((y * 7 + x * 3 + c * 11) % 17) / 16);
      const [out] = (await clipVisionEncode.execute({ clip_vision: vision, image: picture, crop: 'center' }, ctx)).outputs as [ClipVisionOutput];
      // 20x20 pixels in patches of 4: 25 tokens of width 32 (a 384 input could not give these shapes).
      expect(out.last_hidden_state.shape).toEqual([1, 25, 32]);
      expect(out.image_embeds).toBe(out.last_hidden_state);
      expect(out.hidden_states.shape).toEqual([1, 3, 25, 32]);
      expect([...out.penultimate_hidden_states.data]).toEqual([...out.hidden_states.data.subarray(2 * 25 * 32)]);
      const direct = await service.run({ file: join(root, 'models', 'clip_vision', 'siglip-toy.safetensors'), role: 'vision_encoder' }, { pixel_values: clipVisionPreprocess(picture, true, 20) });
      expect([...out.last_hidden_state.data]).toEqual([...(direct.last_hidden_state!.data as Float32Array)]);
    } finally {
      await service.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
