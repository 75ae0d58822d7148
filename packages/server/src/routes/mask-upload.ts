/**
 * POST /upload/mask, as ComfyUI's mask editor uses it: a multipart upload like /upload/image whose `image` is the
 * painted mask and whose `original_ref` field (JSON `{filename, type?, subfolder?}`, the filename possibly annotated
 * `name.png [input]`) names the picture it belongs to. The stored file is the original, converted to RGBA, with the
 * mask's alpha as its alpha, and the original's PNG text chunks (its workflow) kept.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Request, Response } from 'express';
import sharp from 'sharp';
import { insertPngTextChunks, isPng, readPngTextChunks } from '@uso-studio/core';
import { z } from 'zod';
import { folderFor, handleUpload } from '../files.ts';
import type { FileFolders, FolderType } from '../files.ts';
import { HttpError } from '../http-error.ts';
import { resolveExistingFile } from '../safe-path.ts';

const originalRefSchema = z.object({
  filename: z.string().min(1).max(1024),
  type: z.enum(['input', 'output', 'temp']).optional(),
  subfolder: z.string().max(4096).optional(),
}).loose();

export function handleMaskUpload(req: Request, res: Response, dirs: FileFolders, maxUploadBytes: number): Promise<void> {
  return handleUpload(req, res, dirs, { maxUploadBytes, transform: (file, fields) => mergeMaskIntoOriginal(file, fields, dirs) });
}

/** Replaces the mask file at `maskFile` with the original picture carrying the mask's alpha. */
async function mergeMaskIntoOriginal(maskFile: string, fields: Record<string, string>, dirs: FileFolders): Promise<void> {
  // comfy-ui-client sends `originalRef`; ComfyUI reads only `original_ref` (and answers that client with a 500).
  const rawRef = fields.original_ref ?? fields.originalRef;
  if (rawRef === undefined) throw new HttpError(400, "Missing field 'original_ref'");
  let ref: z.output<typeof originalRefSchema>;
  try {
    ref = originalRefSchema.parse(JSON.parse(rawRef));
  } catch {
    throw new HttpError(400, "'original_ref' must be JSON {filename, type?, subfolder?}");
  }
  let filename = ref.filename;
  let type: FolderType = ref.type ?? 'output';
  const annotated = /^(.*) \[(input|output|temp)\]$/.exec(filename);
  if (annotated) {
    filename = annotated[1]!;
    type = annotated[2] as FolderType;
  }
  const originalPath = resolveExistingFile(folderFor(dirs, type), ref.subfolder ?? '', filename);
  const originalBytes = await readFile(originalPath);
  const text = isPng(originalBytes) ? await readPngTextChunks(originalBytes) : {};

  const original = await sharp(originalBytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const mask = await sharp(maskFile).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = original.info;
  if (mask.info.width !== width || mask.info.height !== height) {
    throw new HttpError(400, `The mask is ${mask.info.width}x${mask.info.height} but the original is ${width}x${height}`);
  }
  const rgba = original.data; // [H, W, 4] uint8
  for (let i = 0; i < width * height; i++) rgba[i * 4 + 3] = mask.data[i * 4 + 3]!;
  const png = await sharp(rgba, { raw: { width, height, channels: 4 } }).png({ compressionLevel: 4 }).toBuffer();
  await writeFile(maskFile, Object.keys(text).length ? insertPngTextChunks(png, text) : png);
}
