/**
 * Sparse safetensors files: a real header (published names, shapes and dtypes) followed by a hole the size of all
 * tensor data, made with ftruncate, so a full-size layout (a 3.5 GB SigLIP, a 24 GB FLUX) can be detected, built
 * and opened by onnxruntime without gigabytes on disk. Every tensor reads as zeros. For tests and benchmarks.
 */

import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { SAFETENSORS_DTYPE_BYTES, elementCount, type SafetensorsDType } from './dtypes.ts';
import { encodeHeader } from './writer.ts';

export interface SparseTensorSpec {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

/**
 * Writes the header of `tensors` (in the given order) and extends the file to its full size without writing data.
 * Returns the file size in bytes.
 *
 * @example
 * writeSparseSafetensors('/tmp/big.safetensors', { 'w.weight': { dtype: 'BF16', shape: [3072, 3072] } }); // 18 MB, 0 blocks
 */
export function writeSparseSafetensors(
  path: string,
  tensors: Readonly<Record<string, SparseTensorSpec>>,
  metadata?: Readonly<Record<string, string>>,
): number {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const length = elementCount(t.shape) * SAFETENSORS_DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + length] };
    offset += length;
  }
  const [prefix, headerBytes] = encodeHeader(header) as [Uint8Array, Uint8Array];
  const size = prefix.byteLength + headerBytes.byteLength + offset;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, headerBytes);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return size;
}
