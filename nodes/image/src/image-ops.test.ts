import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Executor, NodeRegistry } from '@uso-studio/core';
import { pack } from './index.ts';
import { makeTempEnv } from './test-context.ts';

let env: ReturnType<typeof makeTempEnv>;
beforeEach(() => {
  env = makeTempEnv();
});
afterEach(() => env.cleanup());

/** A w x h RGB picture whose pixel (x, y) is (10x, 10y, 200). */
async function writeRamp(name: string, w: number, h: number): Promise<void> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([10 * x, 10 * y, 200], (y * w + x) * 3);
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(env.inputDir, name));
}

async function runWorkflow(prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>) {
  const executor = new Executor({ registry: new NodeRegistry(pack.nodes), env });
  const outcome = await executor.run(prompt, { promptId: 'ops' });
  expect(outcome.status, JSON.stringify(outcome.error)).toBe('success');
  const images = (outcome.outputs['9'] as { images: { filename: string }[] }).images;
  return Promise.all(images.map((i) => sharp(path.join(env.outputDir, i.filename)).raw().toBuffer({ resolveWithObject: true })));
}

describe('ImageCrop, ImageInvert, ImageBatch in a workflow (LoadImage -> ... -> SaveImage)', () => {
  it('crops at x/y (clamped to the edge) and inverts', async () => {
    await writeRamp('ramp.png', 6, 4);
    const [crop] = await runWorkflow({
      '1': { class_type: 'LoadImage', inputs: { image: 'ramp.png' } },
      '2': { class_type: 'ImageCrop', inputs: { image: ['1', 0], width: 3, height: 5, x: 2, y: 1 } },
      '3': { class_type: 'ImageInvert', inputs: { image: ['2', 0] } },
      '9': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'crop' } },
    });
    expect([crop!.info.width, crop!.info.height]).toEqual([3, 3]);
    // Top-left of the crop is source (2, 1), inverted. SaveImage truncates 255 * x as ComfyUI's astype(uint8) does, so
    // the blue channel, 1 - 200/255 in float32, lands just under 55.
    expect([...crop!.data.subarray(0, 3)]).toEqual([255 - 20, 255 - 10, 54]);
    const last = (2 * 3 + 2) * 3;
    expect([...crop!.data.subarray(last, last + 3)]).toEqual([255 - 40, 255 - 30, 54]);
  });

  it('ImageCrop past the edge keeps the last column and row, as ComfyUI clamps x and y', async () => {
    await writeRamp('ramp.png', 6, 4);
    const [crop] = await runWorkflow({
      '1': { class_type: 'LoadImage', inputs: { image: 'ramp.png' } },
      '2': { class_type: 'ImageCrop', inputs: { image: ['1', 0], width: 512, height: 512, x: 100, y: 100 } },
      '9': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'edge' } },
    });
    expect([crop!.info.width, crop!.info.height]).toEqual([1, 1]);
    expect([...crop!.data.subarray(0, 3)]).toEqual([50, 30, 200]);
  });

  it('ImageBatch joins two batches, resizing the second to the first', async () => {
    await writeRamp('a.png', 4, 4);
    await writeRamp('b.png', 8, 8);
    const out = await runWorkflow({
      '1': { class_type: 'LoadImage', inputs: { image: 'a.png' } },
      '2': { class_type: 'LoadImage', inputs: { image: 'b.png' } },
      '3': { class_type: 'ImageBatch', inputs: { image1: ['1', 0], image2: ['2', 0] } },
      '9': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'batch' } },
    });
    expect(out.map((o) => [o.info.width, o.info.height])).toEqual([[4, 4], [4, 4]]);
    // Bilinear halving (align_corners false) averages 2x2 blocks: (0,0) of the second is mean of x,y in {0,1}: 5, 5.
    expect([...out[1]!.data.subarray(0, 3)]).toEqual([5, 5, 200]);
  });
});
