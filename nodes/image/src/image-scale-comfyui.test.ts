/**
 * ImageScaleToTotalPixels and FluxKontextImageScale in workflows (LoadImage -> node), against ComfyUI's own outputs
 * (see comfyui-fixtures.ts). Torch modes agree to float32 rounding; lanczos (Pillow's) level for level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from './index.ts';
import { kontextResolution } from './flux-kontext-image-scale.ts';
import { totalPixelsSize } from './image-scale.ts';
import { captureNode, comfyuiResample, expectMatchesSummary, runPrompt, writeFixturePng } from './comfyui-fixtures.ts';
import { makeTempEnv } from './test-context.ts';

let env: ReturnType<typeof makeTempEnv>;
const { node: capture, captured } = captureNode();
const BOUND: Record<string, number> = { 'nearest-exact': 0, bilinear: 1e-6, area: 1e-6, bicubic: 2e-6, lanczos: 0 };

beforeAll(async () => {
  env = makeTempEnv();
  await writeFixturePng(env, 'rgb.png', comfyuiResample.rgb);
  const prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    rgb: { class_type: 'LoadImage', inputs: { image: 'rgb.png' } },
  };
  comfyuiResample.image_scale_to_total_pixels.forEach((c, i) => {
    prompt[`t${i}`] = { class_type: 'ImageScaleToTotalPixels', inputs: { image: ['rgb', 0], upscale_method: c.method, megapixels: c.megapixels } };
    prompt[`t${i}_out`] = { class_type: 'TestCaptureImage', inputs: { image: [`t${i}`, 0], key: `total${i}` } };
  });
  for (const [i, c] of comfyuiResample.flux_kontext_image_scale.entries()) {
    await writeFixturePng(env, `kontext${i}.png`, c.input);
    prompt[`k${i}_in`] = { class_type: 'LoadImage', inputs: { image: `kontext${i}.png` } };
    prompt[`k${i}`] = { class_type: 'FluxKontextImageScale', inputs: { image: [`k${i}_in`, 0] } };
    prompt[`k${i}_out`] = { class_type: 'TestCaptureImage', inputs: { image: [`k${i}`, 0], key: `kontext${i}` } };
  }
  await runPrompt(env, [...pack.nodes, capture], prompt);
});
afterAll(() => env?.cleanup());

describe("ImageScaleToTotalPixels against ComfyUI's outputs", () => {
  it.each(comfyuiResample.image_scale_to_total_pixels.map((c, i) => [c.method, c.megapixels, i] as const))('%s at %f megapixels', (method, _, i) => {
    expectMatchesSummary(captured.get(`total${i}`)!, comfyuiResample.image_scale_to_total_pixels[i]!.out, BOUND[method]!);
  });

  it('sizes by sqrt(trunc(megapixels * 2^20) / pixels) with Python rounding', () => {
    expect(totalPixelsSize(1000, 500, 1)).toEqual({ width: 1448, height: 724 });
    expect(totalPixelsSize(13, 9, 0.01)).toEqual({ width: 123, height: 85 });
  });
});

describe("FluxKontextImageScale against ComfyUI's outputs", () => {
  it.each(comfyuiResample.flux_kontext_image_scale.map((c, i) => [c.input.shape[2], c.input.shape[1], i] as const))('%ix%i picture', (_, __, i) => {
    expectMatchesSummary(captured.get(`kontext${i}`)!, comfyuiResample.flux_kontext_image_scale[i]!.out, 0);
  });

  it('picks the nearest aspect ratio, the narrower one on a tie', () => {
    expect(kontextResolution(1000, 1000)).toEqual({ width: 1024, height: 1024 });
    expect(kontextResolution(4000, 100)).toEqual({ width: 1568, height: 672 });
    expect(kontextResolution(100, 4000)).toEqual({ width: 672, height: 1568 });
  });
});
