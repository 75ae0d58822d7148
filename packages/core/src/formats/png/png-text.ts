/**
 * PNG text chunks (tEXt, zTXt, iTXt): read them all, or insert new ones before the image data.
 * Pure TypeScript for Node and the browser; compressed text goes through the web DecompressionStream.
 *
 * Compatibility notes:
 * - ComfyUI writes metadata through PIL's `PngInfo.add_text`, which emits tEXt when the value is latin-1 encodable
 *   (always, since `json.dumps` escapes non-ASCII) and uncompressed iTXt otherwise.
 * - ComfyUI's frontend decodes both tEXt and iTXt as UTF-8 (and also reads a private `comf` chunk laid out like tEXt).
 *   So tEXt is decoded as UTF-8 when its bytes are valid UTF-8, and as latin-1 (the PNG spec) when not: both agree on
 *   every file either of them writes.
 */

import { crc32 } from './crc32.ts';

/** The 8-byte signature every PNG starts with. */
export const PNG_SIGNATURE: Uint8Array = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The input is not a PNG, is truncated, or a chunk is malformed. */
export class PngFormatError extends Error {
  override name = 'PngFormatError';
}

/** One raw chunk: its type, its data (a view into the input) and where the whole chunk starts and ends. */
export interface PngChunk {
  type: string;
  data: Uint8Array;
  /** Offset of the chunk's length field. */
  start: number;
  /** Offset just past the chunk's CRC. */
  end: number;
}

/** True when `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < PNG_SIGNATURE.length) return false;
  for (let i = 0; i < PNG_SIGNATURE.length; i++) if (bytes[i] !== PNG_SIGNATURE[i]) return false;
  return true;
}

/**
 * Splits a PNG into its chunks (stopping after IEND). CRCs are not checked, as ComfyUI's frontend does not check them.
 * @throws PngFormatError when the signature is missing or a chunk runs past the end of the input.
 */
export function readPngChunks(bytes: Uint8Array): PngChunk[] {
  if (!isPng(bytes)) {
    throw new PngFormatError(`Not a PNG file: the first ${PNG_SIGNATURE.length} bytes are not the PNG signature`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let offset = PNG_SIGNATURE.length;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length) throw new PngFormatError(`Truncated PNG: chunk header at byte ${offset} is cut off`);
    const length = view.getUint32(offset);
    const type = latin1(bytes.subarray(offset + 4, offset + 8));
    const end = offset + 12 + length;
    if (end > bytes.length) {
      throw new PngFormatError(`Truncated PNG: ${type} chunk at byte ${offset} needs ${length} data bytes past the end`);
    }
    chunks.push({ type, data: bytes.subarray(offset + 8, offset + 8 + length), start: offset, end });
    offset = end;
    if (type === 'IEND') break;
  }
  return chunks;
}

/** A decoded text chunk. */
export interface PngTextChunk {
  type: 'tEXt' | 'zTXt' | 'iTXt' | 'comf';
  keyword: string;
  text: string;
}

/**
 * Reads every tEXt, zTXt and iTXt chunk (compressed or not) into a keyword -> text record; a later chunk with the
 * same keyword wins, as in ComfyUI's frontend.
 * @throws PngFormatError for non-PNG input, truncation, or compressed text that does not inflate.
 * @example const { workflow } = await readPngTextChunks(new Uint8Array(await file.arrayBuffer()));
 */
export async function readPngTextChunks(bytes: Uint8Array): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const chunk of await readPngTextChunkList(bytes)) result[chunk.keyword] = chunk.text;
  return result;
}

/** Like `readPngTextChunks`, but keeps every chunk in file order with its type. */
export async function readPngTextChunkList(bytes: Uint8Array): Promise<PngTextChunk[]> {
  const out: PngTextChunk[] = [];
  for (const chunk of readPngChunks(bytes)) {
    const decoded = await decodeTextChunk(chunk);
    if (decoded) out.push(decoded);
  }
  return out;
}

async function decodeTextChunk(chunk: PngChunk): Promise<PngTextChunk | undefined> {
  const { type, data } = chunk;
  if (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt' && type !== 'comf') return undefined;
  const keywordEnd = data.indexOf(0);
  if (keywordEnd < 0) {
    // A text chunk without a separator has no keyword; skip it rather than fail the whole file.
    return undefined;
  }
  const keyword = latin1(data.subarray(0, keywordEnd));
  if (type === 'tEXt' || type === 'comf') {
    return { type, keyword, text: utf8OrLatin1(data.subarray(keywordEnd + 1)) };
  }
  if (type === 'zTXt') {
    const method = data[keywordEnd + 1];
    if (method !== 0) throw new PngFormatError(`zTXt chunk '${keyword}': unknown compression method ${method}`);
    const inflated = await inflate(data.subarray(keywordEnd + 2), keyword);
    return { type, keyword, text: latin1(inflated) };
  }
  // iTXt: keyword \0 flag method language \0 translated-keyword \0 text
  const flag = data[keywordEnd + 1];
  const method = data[keywordEnd + 2];
  const languageEnd = data.indexOf(0, keywordEnd + 3);
  const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1);
  if (flag === undefined || translatedEnd < 0) {
    throw new PngFormatError(`iTXt chunk '${keyword}' is malformed: missing language or translated keyword`);
  }
  let textBytes = data.subarray(translatedEnd + 1);
  if (flag === 1) {
    if (method !== 0) throw new PngFormatError(`iTXt chunk '${keyword}': unknown compression method ${method}`);
    textBytes = await inflate(textBytes, keyword);
  }
  return { type, keyword, text: new TextDecoder('utf-8').decode(textBytes) };
}

/** Options for `insertPngTextChunks`. */
export interface InsertPngTextOptions {
  /**
   * Write every entry as uncompressed iTXt (UTF-8). Default false: tEXt when the text is pure ASCII, uncompressed iTXt
   * otherwise. (PIL keeps latin-1 text in tEXt, but ComfyUI's frontend decodes tEXt as UTF-8, so non-ASCII goes to
   * iTXt where every reader agrees on the encoding.)
   */
  itxt?: boolean;
}

/**
 * Returns a copy of `png` with one text chunk per entry inserted just before the first IDAT. Existing text chunks
 * with the same keywords are removed, so the result holds exactly one value per keyword.
 * @throws PngFormatError for non-PNG input or a PNG without IDAT; RangeError for a keyword or text PNG cannot hold.
 * @example insertPngTextChunks(png, { prompt: JSON.stringify(apiPrompt), workflow: JSON.stringify(graph) })
 */
export function insertPngTextChunks(
  png: Uint8Array,
  entries: Record<string, string>,
  options: InsertPngTextOptions = {},
): Uint8Array {
  const chunks = readPngChunks(png);
  const idat = chunks.find((c) => c.type === 'IDAT');
  if (!idat) throw new PngFormatError('PNG has no IDAT chunk to insert text before');
  const keywords = new Set(Object.keys(entries));
  const encoded = Object.entries(entries).map(([keyword, text]) => encodeTextChunk(keyword, text, options.itxt ?? false));

  const parts: Uint8Array[] = [png.subarray(0, PNG_SIGNATURE.length)];
  for (const chunk of chunks) {
    if (chunk === idat) parts.push(...encoded);
    if (isTextChunkType(chunk.type) && keywords.has(keywordOf(chunk.data))) continue;
    parts.push(png.subarray(chunk.start, chunk.end));
  }
  return concatBytes(parts);
}

function isTextChunkType(type: string): boolean {
  return type === 'tEXt' || type === 'zTXt' || type === 'iTXt';
}

function keywordOf(data: Uint8Array): string {
  const end = data.indexOf(0);
  return latin1(end < 0 ? data : data.subarray(0, end));
}

function encodeTextChunk(keyword: string, text: string, forceItxt: boolean): Uint8Array {
  // PNG keywords: 1-79 printable latin-1 characters, no leading/trailing/double spaces are recommended but not
  // enforced here; null and non-latin-1 characters would corrupt the chunk, so those are refused.
  if (keyword.length < 1 || keyword.length > 79 || !isLatin1(keyword) || keyword.includes('\0')) {
    throw new RangeError(`PNG text keyword must be 1-79 latin-1 characters without NUL, got '${keyword}'`);
  }
  if (text.includes('\0')) throw new RangeError(`PNG text for keyword '${keyword}' must not contain NUL`);
  const keywordBytes = latin1Bytes(keyword);
  if (!forceItxt && isAscii(text)) {
    return makeChunk('tEXt', concatBytes([keywordBytes, new Uint8Array([0]), latin1Bytes(text)]));
  }
  // flag 0 (uncompressed), method 0, empty language tag, empty translated keyword.
  const header = new Uint8Array([0, 0, 0, 0, 0]);
  return makeChunk('iTXt', concatBytes([keywordBytes, header, new TextEncoder().encode(text)]));
}

/** Builds one chunk: length, type, data, CRC over type and data. */
export function makeChunk(type: string, data: Uint8Array): Uint8Array {
  if (type.length !== 4) throw new RangeError(`PNG chunk type must be 4 characters, got '${type}'`);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(latin1Bytes(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function inflate(bytes: Uint8Array, keyword: string): Promise<Uint8Array> {
  try {
    // 'deflate' is the zlib wrapper (RFC 1950), which is what PNG's compression method 0 stores.
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new PngFormatError(
      `Compressed text chunk '${keyword}' does not inflate: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** zlib-compresses bytes (used to write zTXt / compressed iTXt, e.g. in tests). */
export async function zlibDeflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8OrLatin1(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  // Chunked to stay under the engine's argument limit for String.fromCharCode on multi-megabyte workflows.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return s;
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
