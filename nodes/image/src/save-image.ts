/**
 * SaveImage and PreviewImage: each image of a batch written as PNG with the prompt and workflow in tEXt chunks,
 * named like ComfyUI (`<prefix>_<counter:05>_.png`), and reported as UI output `{images: [{filename, subfolder, type}]}`.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import type { Tensor } from '@uso-studio/runtime';
import { defineNode, type NodeInputs } from '@uso-studio/core';
import { encodePng } from './tensor-io.ts';
import { getSaveImagePath } from './paths.ts';

/** One saved file as ComfyUI's UI output and /view describe it. */
export interface SavedImage {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp';
}

/** Options for `saveImages`. */
export interface SaveImagesOptions {
  folder: string;
  type: 'output' | 'temp';
  prefix: string;
  compressionLevel: number;
  /** The API prompt, written as the `prompt` chunk. */
  prompt?: unknown;
  /** Written as one chunk per key, usually `workflow`. */
  extraPngInfo?: Record<string, unknown>;
}

/** The output folder's disk is full: the images were not saved (and no partial file is left). */
export class DiskFullError extends Error {
  override name = 'DiskFullError';
  readonly code = 'ENOSPC';
}

/**
 * Writes every image of an IMAGE batch [B, H, W, C] as PNG. Never overwrites: the counter starts after the highest
 * existing file for the prefix and skips names taken meanwhile.
 */
export async function saveImages(images: Tensor<'float32'>, options: SaveImagesOptions): Promise<SavedImage[]> {
  if (images.shape.length !== 4) throw new RangeError(`images must be an IMAGE [B, H, W, C], got [${images.shape.join(', ')}]`);
  const [batch, height, width] = images.shape as unknown as [number, number, number];
  const target = getSaveImagePath(options.prefix, options.folder, width, height);
  const text = pngText(options.prompt, options.extraPngInfo);
  const results: SavedImage[] = [];
  let counter = target.counter;
  for (let index = 0; index < batch; index++) {
    const png = await encodePng(images, index, { compressionLevel: options.compressionLevel, text });
    const stem = target.filename.replaceAll('%batch_num%', String(index));
    for (;;) {
      const filename = `${stem}_${String(counter).padStart(5, '0')}_.png`;
      const file = path.join(target.folder, filename);
      try {
        await fs.writeFile(file, png, { flag: 'wx' });
        results.push({ filename, subfolder: target.subfolder, type: options.type });
        counter++;
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          counter++;
          continue;
        }
        // A failed write leaves a truncated PNG, and the batch is incomplete: remove every file this call wrote.
        await Promise.all([file, ...results.map((r) => path.join(target.folder, r.filename))].map((f) => fs.rm(f, { force: true })));
        if (code === 'ENOSPC' || code === 'EDQUOT') {
          throw new DiskFullError(
            `Disk full: could not write ${filename} (${png.length.toLocaleString('en-US')} bytes) to ${target.folder}; nothing of this batch was kept. Free some space and queue the prompt again.`,
          );
        }
        throw error;
      }
    }
  }
  return results;
}

function pngText(prompt: unknown, extra: Record<string, unknown> | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  if (prompt !== undefined && prompt !== null) text['prompt'] = asciiJson(prompt);
  if (extra) for (const [key, value] of Object.entries(extra)) text[key] = asciiJson(value);
  return text;
}

/** JSON with non-ASCII escaped, as Python's json.dumps writes it, so the text fits a tEXt chunk for every reader. */
export function asciiJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function imagesInput(inputs: NodeInputs): Tensor<'float32'> {
  return inputs['images'] as Tensor<'float32'>;
}

function extraPngInfo(inputs: NodeInputs): Record<string, unknown> | undefined {
  const extra = inputs['extra_pnginfo'];
  return extra !== null && typeof extra === 'object' ? (extra as Record<string, unknown>) : undefined;
}

export const saveImage = defineNode({
  name: 'SaveImage',
  displayName: 'Save Image',
  category: 'image',
  pack: 'nodes',
  description: 'Saves the input images to your ComfyUI output directory.',
  inputs: {
    required: {
      images: { type: 'IMAGE', tooltip: 'The images to save.' },
      filename_prefix: {
        type: 'STRING',
        default: 'ComfyUI',
        tooltip:
          'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.',
      },
    },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  async execute(inputs, context) {
    const images = await saveImages(imagesInput(inputs), {
      folder: context.env.outputDir,
      type: 'output',
      prefix: String(inputs['filename_prefix'] ?? 'ComfyUI'),
      compressionLevel: 4,
      prompt: inputs['prompt'],
      extraPngInfo: extraPngInfo(inputs),
    });
    return { ui: { images } };
  },
});

const TEMP_SUFFIX_LETTERS = 'abcdefghijklmnopqrstupvxyz'; // ComfyUI's alphabet, including its repeated 'p'

export const previewImage = defineNode({
  name: 'PreviewImage',
  displayName: 'Preview Image',
  category: 'image',
  pack: 'nodes',
  description: 'Saves the input images to your ComfyUI temp directory.',
  inputs: {
    required: { images: { type: 'IMAGE' } },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  async execute(inputs, context) {
    let suffix = '';
    for (let i = 0; i < 5; i++) suffix += TEMP_SUFFIX_LETTERS[randomInt(TEMP_SUFFIX_LETTERS.length)];
    const images = await saveImages(imagesInput(inputs), {
      folder: context.env.tempDir,
      type: 'temp',
      prefix: `ComfyUI_temp_${suffix}`,
      compressionLevel: 1,
      prompt: inputs['prompt'],
      extraPngInfo: extraPngInfo(inputs),
    });
    return { ui: { images } };
  },
});
