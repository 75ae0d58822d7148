/**
 * Image pack costs on a 1024x1024 RGB picture: torch-style resizing in TypeScript (the USO style reference is shrunk
 * like this before SigLIP), PNG encoding with metadata as SaveImage does, and decoding as LoadImage does. sharp's own
 * lanczos resize of the same pixels, measured in the same run, is the baseline for the TypeScript resizers.
 */
import { Tensor, resizeImage } from '../packages/runtime/src/index.ts';
import { decodeImage, encodePng, upscaleImage } from '../nodes/image/src/index.ts';
import { bestMs } from './measure.ts';
import type { BenchResult } from './types.ts';

export default async function (): Promise<BenchResult[]> {
  const size = 1024;
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000;
  const image = Tensor.float32([1, size, size, 3], data); // [1, 1024, 1024, 3]
  const lanczos = await bestMs(() => upscaleImage(image, 512, 512, 'lanczos'));
  const results: BenchResult[] = [];
  for (const mode of ['area', 'bilinear', 'bicubic'] as const) {
    results.push({
      name: `resize 1024² -> 512² ${mode} (TS)`,
      value: await bestMs(() => resizeImage(image, 512, 512, mode)),
      unit: 'ms',
      better: 'lower',
      baseline: { name: 'sharp lanczos3 incl. uint8 conversion', value: lanczos },
    });
  }
  const png = await encodePng(image, 0, { text: { prompt: '{}', workflow: '{}' } });
  results.push({ name: 'encode 1024² PNG with metadata (level 4)', value: await bestMs(() => encodePng(image, 0, { text: { prompt: '{}' } })), unit: 'ms', better: 'lower' });
  results.push({ name: 'decode 1024² PNG to IMAGE + MASK', value: await bestMs(() => decodeImage(png, 'bench.png')), unit: 'ms', better: 'lower' });
  return results;
}
