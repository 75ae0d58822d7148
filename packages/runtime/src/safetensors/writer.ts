/**
 * Writes safetensors files: used to generate demo models, test fixtures and golden-test weights. Data is written as
 * given (little-endian, the byte order of every platform Node runs on).
 */

import { closeSync, openSync, writeSync } from 'node:fs';
import { SAFETENSORS_DTYPE_BYTES, elementCount, type SafetensorsDType } from './dtypes.ts';

type TypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

export interface SafetensorsTensorInput {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Raw bytes, or a typed array whose bytes are the tensor (e.g. Uint16Array of bf16 bits for BF16). */
  readonly data: Uint8Array | TypedArray;
}

function asBytes(data: Uint8Array | TypedArray): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The 8-byte length plus the JSON header, padded so the data section starts 8-byte aligned. */
export function encodeHeader(header: Record<string, unknown>): Uint8Array[] {
  let json = JSON.stringify(header);
  const jsonLength = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonLength) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength), 0);
  return [prefix, headerBytes];
}

/**
 * Encodes tensors as a safetensors file in memory. Tensors are laid out in the order given; the header is padded with
 * spaces to a multiple of 8 bytes, as the reference implementation does, so every tensor starts 8-byte aligned.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`writeSafetensors: '__metadata__' is reserved and cannot name a tensor`);
    const bytes = asBytes(t.data);
    const expected = elementCount(t.shape) * SAFETENSORS_DTYPE_BYTES[t.dtype];
    if (bytes.byteLength !== expected) {
      throw new Error(
        `writeSafetensors: tensor '${name}' ${t.dtype} [${t.shape.join(', ')}] needs ${expected} bytes, got ${bytes.byteLength}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  return [...encodeHeader(header), ...chunks];
}

/**
 * Writes a safetensors file.
 *
 * @example
 * writeSafetensors('/tmp/w.safetensors', { 'proj.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 0, 0, 1]) } });
 */
export function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  writeChunks(path, encodeSafetensors(tensors, metadata));
}

function writeChunks(path: string, chunks: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) {
        written += writeSync(fd, chunk, written, chunk.byteLength - written);
      }
    }
  } finally {
    closeSync(fd);
  }
}
