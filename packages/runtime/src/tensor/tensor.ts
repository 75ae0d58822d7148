/**
 * A dense tensor: dtype, shape and a typed array in row-major order. Reports its byte size so the engine's cache can
 * keep a RAM budget. IMAGE values are float32 [B, H, W, C] in 0..1, MASK float32 [B, H, W], as in ComfyUI.
 */

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8';

export interface DTypeArrays {
  float32: Float32Array;
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
}

export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DTypeArrays[D];

  constructor(dtype: D, shape: readonly number[], data: DTypeArrays[D]) {
    const expected = shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new Error(`Tensor of shape [${shape.join(', ')}] needs ${expected} elements, got ${data.length}`);
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  get size(): number {
    return this.data.length;
  }

  get byteSize(): number {
    return this.data.byteLength;
  }

  static zeros(shape: readonly number[]): Tensor<'float32'> {
    return new Tensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  }

  static float32(shape: readonly number[], data: Float32Array): Tensor<'float32'> {
    return new Tensor('float32', shape, data);
  }
}
