import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Tensor } from '@uso-studio/runtime';
import { NodeRegistry, validatePrompt } from '@uso-studio/core';
import type { ComboOptionsProvider } from '@uso-studio/core';
import { loadImage, ImageDecodeError, decodeImage, DECODE_BLOCK_PIXELS } from './load-image.ts';
import { fakeContext, makeTempEnv } from './test-context.ts';

let env: ReturnType<typeof makeTempEnv>;
beforeEach(() => {
  env = makeTempEnv();
});
afterEach(() => env.cleanup());

async function run(name: string): Promise<{ image: Tensor<'float32'>; mask: Tensor<'float32'> }> {
  const result = await loadImage.execute({ image: name }, fakeContext(env));
  const [image, mask] = result.outputs as [Tensor<'float32'>, Tensor<'float32'>];
  return { image, mask };
}

const pixel = (t: Tensor<'float32'>, y: number, x: number) => {
  const [, , w, c] = t.shape as [number, number, number, number];
  return Array.from(t.data.subarray((y * w + x) * c, (y * w + x) * c + c), (v) => Math.round(v * 255));
};

describe('decodeImage under an interrupt', () => {
  // 2048x2048: four blocks of pixel conversion, so checkpoints fall between them.
  const bigPng = () => sharp({ create: { width: 2048, height: 2048, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer();

  it('stops waiting for libvips once the signal aborts, with the signal reason', async () => {
    const bytes = await bigPng();
    const controller = new AbortController();
    const reason = new Error('interrupted');
    const decoding = decodeImage(bytes, 'big.png', { signal: controller.signal });
    controller.abort(reason); // while libvips is still reading the header
    await expect(decoding).rejects.toBe(reason);
    // Aborted before it starts: nothing is decoded at all.
    await expect(decodeImage(bytes, 'big.png', { signal: controller.signal })).rejects.toBe(reason);
  });

  it('calls the checkpoint between blocks of the pixel conversion, and a throwing checkpoint stops it', async () => {
    const bytes = await bigPng();
    const seen: Array<[number, number]> = [];
    const decoded = await decodeImage(bytes, 'big.png', { checkpoint: (done, total) => void seen.push([done, total]) });
    const pixels = 2048 * 2048;
    expect(seen).toEqual([1, 2, 3].map((k) => [k * DECODE_BLOCK_PIXELS, pixels]));
    expect(pixel(decoded.image, 2047, 2047)).toEqual([10, 20, 30]); // the last block was converted too
    let calls = 0;
    const stop = new Error('stop');
    await expect(
      decodeImage(bytes, 'big.png', {
        checkpoint: () => {
          if (++calls === 2) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    expect(calls).toBe(2);
  });
});

describe('LoadImage', () => {
  it('refuses a picture over the pixel limit, in validation and in execution, before decoding it', async () => {
    await sharp({ create: { width: 40, height: 30, channels: 3, background: 'white' } }).png().toFile(path.join(env.inputDir, 'big.png'));
    const limited = { ...env, maxImagePixels: 1000 };
    expect(await loadImage.validate!({ image: 'big.png' }, limited)).toMatch(/'big\.png' is 40x30 pixels \(1,200\); the limit is 1,000 pixels/);
    await expect(loadImage.execute({ image: 'big.png' }, fakeContext(limited))).rejects.toThrow(/40x30 pixels/);
    expect(await loadImage.validate!({ image: 'big.png' }, { ...env, maxImagePixels: 1200 })).toBe(true);
    expect((await loadImage.execute({ image: 'big.png' }, fakeContext({ ...env, maxImagePixels: 1200 }))).outputs).toHaveLength(2);
  });

  it('applies EXIF orientation so a rotated JPEG loads upright', async () => {
    // Stored 16 wide x 8 high: left half red, right half blue. Orientation 6 = rotate 90° clockwise to display,
    // so the upright image is 8 wide x 16 high with red on top.
    const raw = Buffer.alloc(16 * 8 * 3);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) raw[(y * 16 + x) * 3 + (x < 8 ? 0 : 2)] = 255;
    await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toFile(path.join(env.inputDir, 'rotated.jpg'));
    const { image, mask } = await run('rotated.jpg');
    expect(image.shape).toEqual([1, 16, 8, 3]);
    const top = pixel(image, 2, 4);
    const bottom = pixel(image, 13, 4);
    expect(top[0]).toBeGreaterThan(240);
    expect(top[2]).toBeLessThan(15);
    expect(bottom[2]).toBeGreaterThan(240);
    expect(bottom[0]).toBeLessThan(15);
    expect(mask.shape).toEqual([1, 64, 64]);
    expect(mask.data.every((v) => v === 0)).toBe(true);
  });

  it('turns alpha into mask = 1 - alpha and drops it from the image', async () => {
    const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128, 9, 9, 9, 51]);
    await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toFile(path.join(env.inputDir, 'alpha.png'));
    const { image, mask } = await run('alpha.png');
    expect(image.shape).toEqual([1, 2, 2, 3]);
    expect(pixel(image, 0, 1)).toEqual([0, 255, 0]); // RGB of a fully transparent pixel is kept, as PIL convert('RGB')
    expect(mask.shape).toEqual([1, 2, 2]);
    expect(Array.from(mask.data)).toEqual([255, 0, 128, 51].map((a) => Math.fround(1 - Math.fround(a / 255))));
  });

  it('gives an exact float32 image of value / 255 and a 64x64 zero mask without alpha', async () => {
    const rgb = Buffer.from([0, 1, 2, 100, 200, 255]);
    await sharp(rgb, { raw: { width: 2, height: 1, channels: 3 } }).png().toFile(path.join(env.inputDir, 'rgb.png'));
    const { image, mask } = await run('rgb.png');
    expect(Array.from(image.data)).toEqual(Array.from(rgb, (v) => Math.fround(v / 255)));
    expect(mask.shape).toEqual([1, 64, 64]);
  });

  it('expands greyscale to three channels', async () => {
    await sharp(Buffer.from([10, 200]), { raw: { width: 2, height: 1, channels: 1 } }).png().toFile(path.join(env.inputDir, 'grey.png'));
    const { image } = await run('grey.png');
    expect(image.shape).toEqual([1, 1, 2, 3]);
    expect(pixel(image, 0, 1)).toEqual([200, 200, 200]);
  });

  it('reads a palette PNG with transparency into a mask', async () => {
    const rgba = Buffer.from([255, 0, 0, 255, 0, 0, 255, 0]);
    await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png({ palette: true }).toFile(path.join(env.inputDir, 'pal.png'));
    const { mask } = await run('pal.png');
    expect(Array.from(mask.data)).toEqual([0, 1]);
  });

  it('batches the frames of an animated GIF', async () => {
    // Three 2x2 frames: red, green, blue.
    const frames = Buffer.alloc(2 * 2 * 4 * 3);
    for (let f = 0; f < 3; f++) for (let i = 0; i < 4; i++) frames.set([f === 0 ? 255 : 0, f === 1 ? 255 : 0, f === 2 ? 255 : 0, 255], (f * 4 + i) * 4);
    await sharp(frames, { raw: { width: 2, height: 6, channels: 4, pageHeight: 2 } }).gif().toFile(path.join(env.inputDir, 'anim.gif'));
    const { image, mask } = await run('anim.gif');
    expect(image.shape).toEqual([3, 2, 2, 3]);
    expect([0, 1, 2].map((b) => Array.from(image.data.subarray(b * 12, b * 12 + 3)))).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(mask.shape).toEqual([3, 64, 64]); // opaque GIF: no alpha, like PIL's palette mode
  });

  it('names the file when it is corrupt or missing', async () => {
    fs.writeFileSync(path.join(env.inputDir, 'broken.png'), Buffer.from('this is not an image at all'));
    await expect(run('broken.png')).rejects.toThrow(ImageDecodeError);
    await expect(run('broken.png')).rejects.toThrow(/broken\.png/);
    await expect(run('missing.png')).rejects.toThrow(/Invalid image file: missing\.png/);
  });

  it('never reads outside the input folder', async () => {
    await sharp(Buffer.from([1, 2, 3]), { raw: { width: 1, height: 1, channels: 3 } }).png().toFile(path.join(env.outputDir, 'out.png'));
    await expect(run('../output/out.png')).rejects.toThrow(/Invalid image file: \.\.\/output\/out\.png/);
    await expect(run(path.join(env.outputDir, 'out.png'))).rejects.toThrow(/absolute/);
    fs.symlinkSync(path.join(env.outputDir, 'out.png'), path.join(env.inputDir, 'sneaky.png'));
    await expect(run('sneaky.png')).rejects.toThrow(/symlink/);
    // The explicit [output] annotation is ComfyUI's way to load a saved image, and stays inside the output folder.
    expect((await run('out.png [output]')).image.shape).toEqual([1, 1, 1, 3]);
  });

  it('validates like VALIDATE_INPUTS', async () => {
    fs.writeFileSync(path.join(env.inputDir, 'there.png'), 'x');
    fs.mkdirSync(path.join(env.inputDir, 'folder.png'));
    expect(await loadImage.validate!({ image: 'there.png' }, env)).toBe(true);
    expect(await loadImage.validate!({ image: 'nope.png' }, env)).toBe('Invalid image file: nope.png');
    expect(await loadImage.validate!({ image: 'folder.png' }, env)).toBe('Invalid image file: folder.png');
    fs.writeFileSync(path.join(env.outputDir, 'saved.png'), 'x');
    expect(await loadImage.validate!({ image: '../output/saved.png' }, env)).toBe('Invalid image file: ../output/saved.png');
    // '..' that comes back inside is just another spelling of a name in the folder.
    expect(await loadImage.validate!({ image: 'sub/../there.png' }, env)).toBe(true);
  });

  it("validates `name.png [output]` / `[temp]` through validatePrompt, with ComfyUI's custom_validation_failed otherwise", async () => {
    fs.writeFileSync(path.join(env.outputDir, 'saved.png'), 'x');
    fs.writeFileSync(path.join(env.tempDir, 'preview.png'), 'x');
    const registry = new NodeRegistry([loadImage, { ...loadImage, name: 'Sink', outputNode: true, validate: undefined, validatesInputs: undefined, inputs: { required: { image: { type: 'IMAGE' } } } }]);
    const prompt = (image: unknown) => ({ '1': { class_type: 'LoadImage', inputs: { image } }, '2': { class_type: 'Sink', inputs: { image: ['1', 0] } } });
    expect((await validatePrompt(prompt('saved.png [output]'), registry, env)).ok).toBe(true);
    expect((await validatePrompt(prompt('preview.png [temp]'), registry, env)).ok).toBe(true);
    for (const bad of ['gone.png [output]', 'saved.png', 7]) {
      const result = await validatePrompt(prompt(bad), registry, env);
      expect(result.ok).toBe(false);
      expect(result.nodeErrors['1']!.errors).toEqual([
        { type: 'custom_validation_failed', message: 'Custom validation failed for node', details: `image - Invalid image file: ${String(bad)}`, extra_info: { input_name: 'image' } },
      ]);
    }
  });

  it('fingerprints by file content', async () => {
    const file = path.join(env.inputDir, 'f.png');
    fs.writeFileSync(file, 'one');
    const first = await loadImage.fingerprint!({ image: 'f.png' }, env);
    expect(first).toBe(createHash('sha256').update('one').digest('hex'));
    fs.writeFileSync(file, 'two');
    expect(await loadImage.fingerprint!({ image: 'f.png' }, env)).not.toBe(first);
    expect(Number.isNaN(await loadImage.fingerprint!({ image: 'gone.png' }, env))).toBe(true);
  });

  it('offers the input folder images as combo options, computed on request', () => {
    const options = loadImage.inputs.required!['image']!.options as ComboOptionsProvider;
    expect(options(env)).toEqual([]);
    fs.writeFileSync(path.join(env.inputDir, 'b.png'), '');
    fs.writeFileSync(path.join(env.inputDir, 'a.txt'), '');
    expect(options(env)).toEqual(['b.png']);
    expect(loadImage.inputs.required!['image']!.image_upload).toBe(true);
    expect(loadImage.outputs.map((o) => o.type)).toEqual(['IMAGE', 'MASK']);
  });
});
