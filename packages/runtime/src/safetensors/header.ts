/**
 * Reads the header of a safetensors file without touching the tensor data: an 8-byte little-endian header length, a
 * JSON header mapping names to {dtype, shape, data_offsets}, then the raw little-endian tensor bytes. Only the header
 * bytes are read, so listing a 24 GB checkpoint costs one small read.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { SAFETENSORS_DTYPE_BYTES, elementCount, isSafetensorsDType, type SafetensorsDType } from './dtypes.ts';
import {
  SafetensorsFormatError,
  SafetensorsNotFoundError,
  SafetensorsTruncatedError,
} from './errors.ts';

/** One tensor of a safetensors file. Offsets are absolute byte positions in the file. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Absolute byte offset of the first byte of the tensor in the file. */
  readonly offset: number;
  /** Byte length of the tensor data. */
  readonly length: number;
  /**
   * Absolute path of the file holding the bytes, when it is not the header's own `path` (the shards of a model
   * folder merged into one header by readModelHeader).
   */
  readonly file?: string;
  /**
   * Set on a canonical tensor that a key layout composes from stored ones (diffusers' separate to_q/to_k/to_v where
   * BFL has one fused qkv): the stored tensors, or row ranges of them, whose rows concatenated give this tensor.
   * Its own offset/length are then meaningless; block builders read the parts (blocks.ts linear), never a copy.
   */
  readonly rowParts?: readonly SafetensorsTensorInfo[];
}

export interface SafetensorsHeader {
  /** Absolute path of the file. */
  readonly path: string;
  readonly fileSize: number;
  /** Modification time in milliseconds, for cache keys. */
  readonly mtimeMs: number;
  /** Byte length of the JSON header (the number stored in the first 8 bytes). */
  readonly headerLength: number;
  /** Absolute offset where the data section starts: 8 + headerLength. */
  readonly dataStart: number;
  /** The `__metadata__` string map, empty when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors by name, in file order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  /** The shard files of a model folder (path, size, mtime), for cache keys; absent for a single file. */
  readonly shards?: readonly { readonly path: string; readonly size: number; readonly mtimeMs: number }[];
}

/** Headers larger than this are refused: real ones are a few MB at most, so a bigger number means a foreign file. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Reads and validates the header of a safetensors file.
 *
 * @example
 * const header = readSafetensorsHeader('models/vae/ae.safetensors');
 * const w = header.tensors.get('decoder.conv_in.weight'); // { dtype: 'F32', shape: [512, 16, 3, 3], offset, length }
 * @throws SafetensorsNotFoundError, SafetensorsTruncatedError, SafetensorsFormatError
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const file = resolve(path);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SafetensorsNotFoundError(file);
    if (code === 'EISDIR') throw new SafetensorsNotFoundError(file, 'is a folder, expected a .safetensors file');
    throw new SafetensorsNotFoundError(file, `cannot open (${code ?? String(error)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new SafetensorsNotFoundError(file, 'is a folder, expected a .safetensors file');
    const fileSize = stat.size;
    if (fileSize < 8) {
      throw new SafetensorsTruncatedError(file, `file is ${fileSize} bytes, expected at least 8 (the header length)`);
    }
    const lengthBytes = Buffer.alloc(8);
    readSync(fd, lengthBytes, 0, 8, 0);
    const headerLength64 = lengthBytes.readBigUInt64LE(0);
    if (headerLength64 > BigInt(MAX_HEADER_BYTES)) {
      throw new SafetensorsFormatError(
        file,
        // The value is the file's first 8 bytes: never print it (a link to a private file would leak its start).
        `not a safetensors file: the header length in its first 8 bytes is implausible (expected a little-endian JSON length below ${MAX_HEADER_BYTES})`,
      );
    }
    const headerLength = Number(headerLength64);
    if (headerLength < 2) {
      throw new SafetensorsFormatError(file, `not a safetensors file: header length ${headerLength} is too small for a JSON object`);
    }
    if (8 + headerLength > fileSize) {
      throw new SafetensorsTruncatedError(
        file,
        `truncated: header needs ${8 + headerLength} bytes but the file has ${fileSize}`,
      );
    }
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 8);
    return parseHeader(file, headerBytes, headerLength, fileSize, stat.mtimeMs);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(
  file: string,
  bytes: Buffer,
  headerLength: number,
  fileSize: number,
  mtimeMs: number,
): SafetensorsHeader {
  if (bytes[0] !== 0x7b /* '{' */) {
    throw new SafetensorsFormatError(file, 'not a safetensors file: the header does not start with a JSON object');
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    // V8's message quotes the text around the fault; only its position is safe to show.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new SafetensorsFormatError(file, `not a safetensors file: header is not valid JSON${position ? ` (at byte ${position} of the header)` : ''}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SafetensorsFormatError(file, 'not a safetensors file: header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, entry);
      continue;
    }
    tensors.set(name, parseTensor(file, name, entry, dataStart, dataSize));
  }
  return { path: file, fileSize, mtimeMs, headerLength, dataStart, metadata, tensors };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new SafetensorsFormatError(file, '__metadata__ must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) {
    // Some writers put numbers in metadata; keep them readable rather than rejecting the whole file.
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function parseTensor(
  file: string,
  name: string,
  entry: unknown,
  dataStart: number,
  dataSize: number,
): SafetensorsTensorInfo {
  const bad = (what: string) => new SafetensorsFormatError(file, `tensor '${name}': ${what}`);
  if (typeof entry !== 'object' || entry === null) throw bad('expected {dtype, shape, data_offsets}');
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isSafetensorsDType(dtype)) {
    throw bad(`unsupported dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad(`data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const length = end - begin;
  const expected = elementCount(shape) * SAFETENSORS_DTYPE_BYTES[dtype];
  if (length !== expected) {
    throw bad(`${dtype} [${shape.join(', ')}] needs ${expected} bytes but data_offsets span ${length}`);
  }
  if (end > dataSize) {
    throw new SafetensorsTruncatedError(
      file,
      `truncated: tensor '${name}' ends at data byte ${end} but the data section has only ${dataSize} bytes`,
    );
  }
  return { name, dtype, shape: Object.freeze([...shape]), offset: dataStart + begin, length };
}
