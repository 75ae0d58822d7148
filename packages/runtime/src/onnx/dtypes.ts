/**
 * ONNX element types by name, and how safetensors dtypes map onto them. Numbers are TensorProto.DataType values from
 * the ONNX schema; the float8 ones (17-20) are newer than the onnx-proto schema, which stores them as plain ints.
 */

import type { SafetensorsDType } from '../safetensors/dtypes.ts';

export type OnnxDType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e5m2';

export const ONNX_DTYPE_CODES: Readonly<Record<OnnxDType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
  float8e4m3fn: 17,
  float8e5m2: 19,
};

/** safetensors dtype -> ONNX element type of the initializer that points at it. */
export const SAFETENSORS_TO_ONNX: Readonly<Record<SafetensorsDType, OnnxDType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8e4m3fn',
  F8_E5M2: 'float8e5m2',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};
