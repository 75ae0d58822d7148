/**
 * Reads one tensor's bytes from a safetensors file. Model graphs never do this (they point ONNX external data at the
 * file); it is for small tensors read on the JavaScript side and for tests.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { SafetensorsTruncatedError } from './errors.ts';
import type { SafetensorsHeader, SafetensorsTensorInfo } from './header.ts';

/** Raw little-endian bytes of one tensor. Throws naming the file and the tensor when it is absent. */
export function readTensorBytes(header: SafetensorsHeader, name: string): Uint8Array {
  const info = header.tensors.get(name);
  if (!info) throw new Error(`${header.path}: no tensor named '${name}'`);
  return readInfoBytes(header.path, info);
}

function readInfoBytes(path: string, info: SafetensorsTensorInfo): Uint8Array {
  const out = new Uint8Array(info.length);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < info.length) {
      const n = readSync(fd, out, done, info.length - done, info.offset + done);
      if (n === 0) throw new SafetensorsTruncatedError(path, `truncated while reading tensor '${info.name}'`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * One tensor widened to float32. Handles F32, F64 and BF16 (a bf16 is the top half of a float32); other formats
 * are refused with a message naming them, since their conversion belongs in a graph Cast or in tensor/float16.
 */
export function readTensorFloat32(header: SafetensorsHeader, name: string): Float32Array {
  const info = header.tensors.get(name);
  if (!info) throw new Error(`${header.path}: no tensor named '${name}'`);
  const bytes = readInfoBytes(header.path, info);
  const aligned = bytes.buffer;
  switch (info.dtype) {
    case 'F32':
      return new Float32Array(aligned, 0, info.length / 4);
    case 'F64':
      return Float32Array.from(new Float64Array(aligned, 0, info.length / 8));
    case 'BF16': {
      const src = new Uint16Array(aligned, 0, info.length / 2);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      throw new Error(`${header.path}: tensor '${name}' is ${info.dtype}; readTensorFloat32 reads F32, F64 and BF16`);
  }
}
