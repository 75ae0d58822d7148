/**
 * ImageStitch against ComfyUI's own outputs (see comfyui-fixtures.ts): every direction, with and without
 * match_image_size, spacing widths and colours, image2 of another size and batch. The RGB cases run as one workflow
 * through the engine (LoadImage -> ImageBatch -> ImageStitch); the RGBA ones (LoadImage gives RGB) call the node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@uso-studio/runtime';
import { pack } from './index.ts';
import { imageStitch } from './image-stitch.ts';
import { captureNode, comfyuiResample, expectMatchesSummary, fixtureTensor, runPrompt, writeFixturePng } from './comfyui-fixtures.ts';
import { fakeContext, makeTempEnv } from './test-context.ts';

let env: ReturnType<typeof makeTempEnv>;
const { node: capture, captured } = captureNode();
const cases = comfyuiResample.image_stitch.map((c, i) => ({ ...c, key: `case${i}` }));
const label = (c: (typeof cases)[number]) => `${c.image1} ${c.direction} match=${c.match_image_size} spacing=${c.spacing_width} ${c.spacing_color}`;

beforeAll(async () => {
  env = makeTempEnv();
  await writeFixturePng(env, 'rgb.png', comfyuiResample.rgb);
  await writeFixturePng(env, 'second0.png', comfyuiResample.stitch_second, 0);
  await writeFixturePng(env, 'second1.png', comfyuiResample.stitch_second, 1);
  const prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    rgb: { class_type: 'LoadImage', inputs: { image: 'rgb.png' } },
    s0: { class_type: 'LoadImage', inputs: { image: 'second0.png' } },
    s1: { class_type: 'LoadImage', inputs: { image: 'second1.png' } },
    second: { class_type: 'ImageBatch', inputs: { image1: ['s0', 0], image2: ['s1', 0] } },
  };
  for (const c of cases.filter((k) => k.image1 === 'rgb')) {
    const { direction, match_image_size, spacing_width, spacing_color } = c;
    prompt[c.key] = { class_type: 'ImageStitch', inputs: { image1: ['rgb', 0], image2: ['second', 0], direction, match_image_size, spacing_width, spacing_color } };
    prompt[`${c.key}_out`] = { class_type: 'TestCaptureImage', inputs: { image: [c.key, 0], key: c.key } };
  }
  await runPrompt(env, [...pack.nodes, capture], prompt);
});
afterAll(() => env?.cleanup());

describe("ImageStitch against ComfyUI's outputs", () => {
  it.each(cases.filter((c) => c.image1 === 'rgb').map((c) => [label(c), c] as const))('%s (in a workflow)', (_, c) => {
    // Lanczos levels are Pillow's exactly; padding and spacer values are exact.
    expectMatchesSummary(captured.get(c.key)!, c.out, 0);
  });

  it.each(cases.filter((c) => c.image1 === 'rgba').map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const { direction, match_image_size, spacing_width, spacing_color } = c;
    const inputs = { image1: fixtureTensor(comfyuiResample.rgba), image2: fixtureTensor(comfyuiResample.stitch_second), direction, match_image_size, spacing_width, spacing_color };
    const result = (await imageStitch.execute(inputs as never, fakeContext(env))) as { outputs: [Tensor<'float32'>] };
    expectMatchesSummary(result.outputs[0], c.out, 0);
  });

  it('returns image1 itself without image2, and refuses an unknown direction', async () => {
    const image1 = fixtureTensor(comfyuiResample.rgb);
    const base = { image1, direction: 'right', match_image_size: true, spacing_width: 0, spacing_color: 'white' };
    const alone = (await imageStitch.execute(base as never, fakeContext(env))) as { outputs: [Tensor<'float32'>] };
    expect(alone.outputs[0]).toBe(image1);
    await expect(imageStitch.execute({ ...base, image2: image1, direction: 'diagonal' } as never, fakeContext(env))).rejects.toThrow(/direction/);
  });
});
