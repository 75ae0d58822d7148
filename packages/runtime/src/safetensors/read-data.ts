/**
 * Reads one tensor's bytes from a safetensors file. Model graphs never do this (they point ONNX external data at the
 * file); it is for small tensors read on the JavaScript side and for tests.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { float16BitsToFloat32 } from '../tensor/float16.ts';
import { float8E4M3ArrayToFloat32 } from '../tensor/float8.ts';
import { SafetensorsTruncatedError } from './errors.ts';
import type { SafetensorsHeader, SafetensorsTensorInfo } from './header.ts';

/** Raw little-endian bytes of one tensor. Throws naming the file and the tensor when it is absent. */
export function readTensorBytes(header: SafetensorsHeader, name: string): Uint8Array {
  const info = header.tensors.get(name);
  if (!info) throw new Error(`${header.path}: no tensor named '${name}'`);
  return readInfoBytes(info.file ?? header.path, info);
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
 * One tensor widened to float32 (F32, F64, F16, BF16, F8_E4M3). Integer formats are refused with a message naming
 * them: they are ids or masks, not weights.
 */
export function readTensorFloat32(header: SafetensorsHeader, name: string): Float32Array {
  const info = header.tensors.get(name);
  if (!info) throw new Error(`${header.path}: no tensor named '${name}'`);
  const bytes = readInfoBytes(info.file ?? header.path, info);
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
    case 'F16':
      return Float32Array.from(new Uint16Array(aligned, 0, info.length / 2), float16BitsToFloat32);
    case 'F8_E4M3':
      return float8E4M3ArrayToFloat32(bytes);
    default:
      throw new Error(`${header.path}: tensor '${name}' is ${info.dtype}; readTensorFloat32 reads F32, F64, F16, BF16 and F8_E4M3`);
  }
}
