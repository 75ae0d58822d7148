/**
 * Conversion between the project's Tensor and onnxruntime's. Both wrap typed arrays, so neither direction copies
 * data (ORT copies inputs into native memory itself during run).
 */

import type * as Ort from 'onnxruntime-node';
import { Tensor, type DType } from '../tensor/tensor.ts';
import type { OrtModule } from './ort.ts';

const ORT_TYPES: Readonly<Record<DType, Ort.Tensor.Type>> = {
  float32: 'float32',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  uint8: 'uint8',
};

/** Wraps a Tensor as an ort.Tensor (float16 travels as a Uint16Array of half bits). */
export function toOrtTensor(ort: OrtModule, tensor: Tensor): Ort.Tensor {
  return new ort.Tensor(ORT_TYPES[tensor.dtype], tensor.data as never, [...tensor.shape]);
}

/**
 * Wraps an ort.Tensor output as a Tensor. Bool outputs become uint8 (same bytes); other types (bf16, strings, ...)
 * are refused with the output's type, since graph outputs should be cast to one of ours inside the graph.
 */
export function fromOrtTensor(value: Ort.Tensor, name = 'output'): Tensor {
  const dims = [...value.dims];
  switch (value.type) {
    case 'float32':
      return new Tensor('float32', dims, value.data as Float32Array);
    case 'float16':
      return new Tensor('float16', dims, toUint16(value.data));
    case 'int64':
      return new Tensor('int64', dims, value.data as BigInt64Array);
    case 'int32':
      return new Tensor('int32', dims, value.data as Int32Array);
    case 'uint8':
      return new Tensor('uint8', dims, value.data as Uint8Array);
    case 'bool': {
      const d = value.data as Uint8Array;
      return new Tensor('uint8', dims, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
    default:
      throw new Error(`Graph output '${name}' has type ${value.type}; cast it to float32, float16, int64, int32 or uint8 in the graph`);
  }
}

function toUint16(data: unknown): Uint16Array {
  if (data instanceof Uint16Array) return data;
  // Runtimes with Float16Array hand half data back as one; reinterpret its bits.
  const view = data as ArrayBufferView;
  return new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
}
