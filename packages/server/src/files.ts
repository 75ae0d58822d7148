/**
 * /view and /upload/image: ComfyUI's file routes over the data directory's input/, output/ and temp/ folders, with every
 * request path checked by safe-path.ts. Active content (HTML, JS, SVG, anything unknown) is only ever served as a download.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request, Response } from 'express';
import sharp from 'sharp';
import { DEFAULT_MAX_IMAGE_PIXELS } from '@uso-studio/nodes-image';
import { z } from 'zod';
import { HttpError } from './http-error.ts';
import { checkFileName, resolveExistingFile, resolveWritableDir } from './safe-path.ts';

sharp.cache(false);

export interface FileFolders {
  inputDir: string;
  outputDir: string;
  tempDir: string;
  /** Largest decoded image (width × height) an upload or a converted /view may have; default DEFAULT_MAX_IMAGE_PIXELS. */
  maxImagePixels?: number;
}


/** Refuses a picture whose decoded size is over the limit, from its header alone (nothing is decoded). */
function checkPixels(width: number | undefined, height: number | undefined, dirs: FileFolders, what: string): void {
  const limit = dirs.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (width && height && width * height > limit) {
    throw new HttpError(
      413,
      `${what} is ${width}x${height} pixels (${(width * height).toLocaleString('en-US')}); the limit is ${limit.toLocaleString('en-US')} pixels (--max-image-megapixels). Scale it down first.`,
    );
  }
}

export type FolderType = 'input' | 'output' | 'temp';

export function folderFor(dirs: FileFolders, type: FolderType): string {
  return type === 'input' ? dirs.inputDir : type === 'temp' ? dirs.tempDir : dirs.outputDir;
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.bmp': 'image/bmp',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};
/** Image formats an upload may have (sharp's names); SVG is refused because it can carry script. */
const UPLOAD_FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif', 'heif']);
const UPLOAD_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

const viewQuerySchema = z.object({
  filename: z.string().min(1).max(1024),
  type: z.enum(['output', 'input', 'temp']).optional(),
  subfolder: z.string().max(4096).optional(),
  preview: z.string().regex(/^(webp|jpeg)(;\d{1,3})?$/, 'preview must be webp;Q or jpeg;Q').optional(),
  channel: z.enum(['rgb', 'a', 'rgba']).optional(),
  // Cache-busting and token parameters that clients add.
}).loose();

/** GET /view */
export async function serveView(req: Request, res: Response, dirs: FileFolders): Promise<void> {
  const parsed = viewQuerySchema.safeParse(req.query);
  if (!parsed.success) throw new HttpError(400, `Bad /view query: ${z.prettifyError(parsed.error)}`);
  let { filename, type } = parsed.data;
  // ComfyUI's annotated names: "name.png [input]" picks the folder.
  const annotated = /^(.*) \[(input|output|temp)\]$/.exec(filename);
  if (annotated) {
    filename = annotated[1]!;
    type = annotated[2] as FolderType;
  }
  const file = resolveExistingFile(folderFor(dirs, type ?? 'output'), parsed.data.subfolder ?? '', filename);
  const info = await stat(file);
  if (!info.isFile()) throw new HttpError(404, 'File not found');

  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'; img-src 'self'; media-src 'self'");
  const channel = parsed.data.channel ?? 'rgba';
  const preview = parsed.data.preview;
  const ext = extname(filename).toLowerCase();
  if ((preview || channel !== 'rgba') && CONTENT_TYPES[ext]?.startsWith('image/')) {
    // Conversions decode the whole picture: refuse it above the pixel limit from its header before any decoding.
    let meta: { width?: number | undefined; height?: number | undefined };
    try {
      meta = await sharp(file, { limitInputPixels: false }).metadata();
    } catch {
      throw new HttpError(415, 'The file is not a readable image');
    }
    checkPixels(meta.width, meta.height, dirs, 'The image');
    await sendConverted(res, file, channel, preview, filename);
    return;
  }
  const contentType = CONTENT_TYPES[ext];
  res.setHeader('Content-Type', contentType ?? 'application/octet-stream');
  // Anything we do not know to be passive media (HTML, JS, SVG, XML...) is a download, never rendered by the browser.
  const passive = contentType !== undefined && !contentType.startsWith('application/json');
  res.setHeader('Content-Disposition', (passive ? '' : 'attachment; ') + comfyDisposition(filename));
  res.setHeader('Content-Length', String(info.size));
  res.setHeader('Cache-Control', 'no-cache');
  await pipeline(createReadStream(file), res);
}

/**
 * ComfyUI's `filename="name"` (no disposition type, so browsers show passive media inline). A name a quoted string
 * cannot carry as is (non-ASCII, quotes, backslashes) also gets RFC 6266's `filename*`, with an ASCII stand-in.
 */
function comfyDisposition(filename: string): string {
  if (/^[\x20-\x7e]*$/.test(filename) && !/["\\]/.test(filename)) return `filename="${filename}"`;
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

async function sendConverted(res: Response, file: string, channel: 'rgb' | 'a' | 'rgba', preview: string | undefined, filename: string): Promise<void> {
  let img = sharp(file, { failOn: 'error' });
  if (channel === 'rgb') img = img.removeAlpha();
  if (channel === 'a') {
    // ComfyUI's alpha view: black RGB carrying the source alpha. Built from libvips operations, which run on its
    // own threads: a per-pixel loop here would block the HTTP event loop for seconds on a large picture.
    const { data: alpha, info } = await sharp(file, { failOn: 'error' }).ensureAlpha().extractChannel(3).raw().toBuffer({ resolveWithObject: true });
    img = sharp({ create: { width: info.width, height: info.height, channels: 3, background: { r: 0, g: 0, b: 0 } } }).joinChannel(alpha, {
      raw: { width: info.width, height: info.height, channels: 1 },
    });
  }
  let body: Buffer;
  let contentType: string;
  if (preview) {
    const [format, q] = preview.split(';');
    const quality = Math.min(100, Math.max(1, Number(q ?? 90)));
    body = format === 'webp' ? await img.webp({ quality }).toBuffer() : await img.jpeg({ quality }).toBuffer();
    contentType = format === 'webp' ? 'image/webp' : 'image/jpeg';
  } else {
    body = await img.png().toBuffer();
    contentType = 'image/png';
  }
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Disposition', comfyDisposition(filename));
  res.setHeader('Cache-Control', 'no-cache');
  res.end(body);
}

export interface UploadOptions {
  maxUploadBytes: number;
  /**
   * Rewrites the received file in place before it is named and stored (the mask upload merges it into the original
   * it refers to); gets every form field.
   */
  transform?: (receivedFile: string, fields: Record<string, string>) => Promise<void>;
}

/** POST /upload/image: multipart `image` plus `overwrite`, `type`, `subfolder`. */
export async function handleUpload(req: Request, res: Response, dirs: FileFolders, options: UploadOptions): Promise<void> {
  if (!req.is('multipart/form-data')) throw new HttpError(415, 'Expected multipart/form-data');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > options.maxUploadBytes + 1024 * 1024) throw new HttpError(413, `Upload larger than ${options.maxUploadBytes} bytes`);

  const tmp = join(dirs.tempDir, `.upload-${randomBytes(8).toString('hex')}`);
  try {
    const parts = await receive(req, tmp, options.maxUploadBytes);
    const fields = uploadFieldsSchema.safeParse(parts.fields);
    if (!fields.success) throw new HttpError(400, `Bad upload fields: ${z.prettifyError(fields.error)}`);
    if (!parts.file) throw new HttpError(400, "No file in field 'image'");
    const name = checkFileName(parts.file.name);
    const ext = extname(name).toLowerCase();
    if (!UPLOAD_EXTENSIONS.has(ext)) throw new HttpError(400, `Not an image file name: ${name}`);
    let format: string | undefined;
    let size: { width?: number | undefined; height?: number | undefined } = {};
    try {
      const meta = await sharp(tmp, { limitInputPixels: false }).metadata();
      format = meta.format;
      size = { width: meta.width, height: meta.height };
    } catch {
      throw new HttpError(400, 'The uploaded file is not a readable image');
    }
    // A small file can decode to a huge picture (a 746 KB PNG of 16000²): refused here, before anyone decodes it.
    checkPixels(size.width, size.height, dirs, 'The uploaded image');
    if (!format || !UPLOAD_FORMATS.has(format)) throw new HttpError(400, `Unsupported image format: ${format ?? 'unknown'}`);
    if (options.transform) await options.transform(tmp, parts.fields);

    const type = fields.data.type ?? 'input';
    const subfolder = fields.data.subfolder ?? '';
    const dir = resolveWritableDir(folderFor(dirs, type), subfolder);
    const overwrite = fields.data.overwrite === 'true' || fields.data.overwrite === '1';
    let finalName = name;
    let duplicate = false;
    if (!overwrite) {
      const stem = name.slice(0, name.length - ext.length);
      for (let i = 1; await exists(join(dir, finalName)); i++) {
        if (await sameContent(join(dir, finalName), tmp)) {
          duplicate = true;
          break;
        }
        finalName = `${stem} (${i})${ext}`;
      }
    }
    if (!duplicate) await rename(tmp, join(dir, finalName));
    res.json({ name: finalName, subfolder, type });
  } finally {
    await rm(tmp, { force: true });
  }
}

const uploadFieldsSchema = z.object({
  overwrite: z.string().max(8).optional(),
  type: z.enum(['input', 'temp', 'output']).optional(),
  subfolder: z.string().max(4096).optional(),
}).loose();

interface Received {
  fields: Record<string, string>;
  file?: { name: string };
}

function receive(req: Request, tmp: string, maxBytes: number): Promise<Received> {
  return new Promise<Received>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 16, fieldSize: 8192, parts: 20 } });
    } catch (error) {
      reject(new HttpError(400, `Bad multipart request: ${(error as Error).message}`));
      return;
    }
    const out: Received = { fields: {} };
    let written: Promise<void> = Promise.resolve();
    let failure: HttpError | undefined;
    bb.on('field', (name, value) => {
      out.fields[name] = value;
    });
    bb.on('file', (field, stream, info) => {
      if (field !== 'image' || out.file) {
        stream.resume();
        return;
      }
      out.file = { name: info.filename ?? '' };
      stream.on('limit', () => {
        failure = new HttpError(413, `Upload larger than ${maxBytes} bytes`);
      });
      written = pipeline(stream, createWriteStream(tmp, { flags: 'wx' }));
    });
    bb.on('filesLimit', () => (failure ??= new HttpError(400, 'Only one file per upload')));
    bb.on('fieldsLimit', () => (failure ??= new HttpError(400, 'Too many fields')));
    bb.on('partsLimit', () => (failure ??= new HttpError(400, 'Too many parts')));
    bb.on('error', (error: Error) => reject(new HttpError(400, `Bad multipart request: ${error.message}`)));
    bb.on('close', () => {
      written.then(
        () => (failure ? reject(failure) : resolve(out)),
        (error: unknown) => reject(failure ?? error),
      );
    });
    req.pipe(bb);
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([lstat(a), stat(b)]);
  if (!sa.isFile() || sa.size !== sb.size) return false;
  const [ha, hb] = await Promise.all([hashFile(a), hashFile(b)]);
  return ha === hb;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
