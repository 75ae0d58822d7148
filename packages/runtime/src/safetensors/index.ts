export {
  SAFETENSORS_DTYPE_BYTES,
  elementCount,
  isSafetensorsDType,
  type SafetensorsDType,
} from './dtypes.ts';
export {
  SafetensorsError,
  SafetensorsFormatError,
  SafetensorsNotFoundError,
  SafetensorsTruncatedError,
} from './errors.ts';
export { readSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from './header.ts';
export { readTensorBytes, readTensorFloat32 } from './read-data.ts';
export { encodeSafetensors, writeSafetensors, type SafetensorsTensorInput } from './writer.ts';
export { writeSparseSafetensors, type SparseTensorSpec } from './sparse.ts';
export { detectKeyPrefix, remapKeys, withKeyPrefix } from './keys.ts';
export { isModelFolder, readModelHeader } from './model-files.ts';
