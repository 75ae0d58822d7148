import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Tensor } from '@uso-studio/runtime';
import { readPngChunks, readPngTextChunks, readPngWorkflow } from '@uso-studio/core';
import { asciiJson, previewImage, saveImage, type SavedImage } from './save-image.ts';
import { fakeContext, makeTempEnv } from './test-context.ts';

let env: ReturnType<typeof makeTempEnv>;
beforeEach(() => {
  env = makeTempEnv();
});
afterEach(() => env.cleanup());

/** A batch of `b` 3x2 images whose pixels differ per item. */
const batch = (b: number) =>
  Tensor.float32([b, 2, 3, 3], Float32Array.from({ length: b * 18 }, (_, i) => ((i * 37) % 256) / 255));

const prompt = { '3': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'ComfyUI' } } };
const workflow = { last_node_id: 9, nodes: [{ id: 3, type: 'SaveImage', title: 'Sauvegarde é ✓' }], links: [] };

async function save(inputs: Record<string, unknown>): Promise<SavedImage[]> {
  const result = await saveImage.execute(inputs, fakeContext(env));
  return (result.ui as { images: SavedImage[] }).images;
}

describe('SaveImage', () => {
  it('writes PNGs whose prompt and workflow chunks read back equal, and reports them as UI output', async () => {
    const images = batch(2);
    const saved = await save({ images, filename_prefix: 'ComfyUI', prompt, extra_pnginfo: { workflow } });
    expect(saved).toEqual([
      { filename: 'ComfyUI_00001_.png', subfolder: '', type: 'output' },
      { filename: 'ComfyUI_00002_.png', subfolder: '', type: 'output' },
    ]);
    const bytes = fs.readFileSync(path.join(env.outputDir, 'ComfyUI_00002_.png'));
    expect(await readPngWorkflow(bytes)).toEqual({ workflow, prompt });
    // Written as tEXt (ASCII JSON, non-ASCII escaped as Python's json.dumps does), which every reader handles.
    expect(readPngChunks(bytes).filter((c) => c.type === 'tEXt')).toHaveLength(2);
    // The pixels are the second batch item, truncated to uint8.
    const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(data)).toEqual(Array.from(images.data.subarray(18), (v) => Math.trunc(Math.fround(v * 255))));
  });

  it('continues the counter after the highest existing file', async () => {
    fs.writeFileSync(path.join(env.outputDir, 'ComfyUI_00041_.png'), '');
    const first = await save({ images: batch(1), filename_prefix: 'ComfyUI' });
    const second = await save({ images: batch(1), filename_prefix: 'ComfyUI' });
    expect([first[0]!.filename, second[0]!.filename]).toEqual(['ComfyUI_00042_.png', 'ComfyUI_00043_.png']);
  });

  it('writes into a subfolder named by the prefix and supports %batch_num%', async () => {
    const saved = await save({ images: batch(2), filename_prefix: 'uso/style_%batch_num%' });
    expect(saved.map((s) => `${s.subfolder}|${s.filename}`)).toEqual(['uso|style_0_00001_.png', 'uso|style_1_00002_.png']);
    expect(fs.existsSync(path.join(env.outputDir, 'uso', 'style_1_00002_.png'))).toBe(true);
  });

  it('refuses prefixes that escape the output folder', async () => {
    await expect(save({ images: batch(1), filename_prefix: '../escaped' })).rejects.toThrow(/outside the output folder/);
    await expect(save({ images: batch(1), filename_prefix: '/tmp/escaped' })).rejects.toThrow(/outside the output folder/);
    expect(fs.readdirSync(env.root).sort()).toEqual(['input', 'models', 'output', 'temp']);
  });

  it('writes no text chunks without a prompt or extra info', async () => {
    await save({ images: batch(1), filename_prefix: 'plain' });
    expect(await readPngTextChunks(fs.readFileSync(path.join(env.outputDir, 'plain_00001_.png')))).toEqual({});
  });

  it('declares ComfyUI’s inputs', () => {
    expect(Object.keys(saveImage.inputs.required!)).toEqual(['images', 'filename_prefix']);
    expect(saveImage.inputs.required!['filename_prefix']!.default).toBe('ComfyUI');
    expect(saveImage.inputs.hidden).toEqual({ prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' });
    expect(saveImage.outputNode).toBe(true);
  });
});

describe('PreviewImage', () => {
  it('writes into the temp folder with a random-suffixed prefix and type temp', async () => {
    const result = await previewImage.execute({ images: batch(1), prompt, extra_pnginfo: { workflow } }, fakeContext(env));
    const [image] = (result.ui as { images: SavedImage[] }).images;
    expect(image!.type).toBe('temp');
    expect(image!.subfolder).toBe('');
    expect(image!.filename).toMatch(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/);
    const bytes = fs.readFileSync(path.join(env.tempDir, image!.filename));
    expect(await readPngWorkflow(bytes)).toEqual({ workflow, prompt });
    expect(fs.readdirSync(env.outputDir)).toEqual([]);
  });
});

describe('asciiJson', () => {
  it('escapes non-ASCII like json.dumps and stays parseable', () => {
    const text = asciiJson({ t: 'é✓😀' });
    expect(text).toBe('{"t":"\\u00e9\\u2713\\ud83d\\ude00"}');
    expect(JSON.parse(text)).toEqual({ t: 'é✓😀' });
  });
});
