export { Tensor, type DType, type DTypeArrays } from './tensor/tensor.ts';
