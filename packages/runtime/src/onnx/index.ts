export { ONNX_DTYPE_CODES, SAFETENSORS_TO_ONNX, type OnnxDType } from './dtypes.ts';
export {
  GraphBuilder,
  IR_VERSION,
  LORA_STRENGTHS_INPUT,
  MICROSOFT_DOMAIN,
  NONE,
  OPSET_VERSION,
  attr,
  type Attr,
  type BuildResult,
  type Dim,
  type GraphBuilderOptions,
  type ComputeDtype,
  type OpOptions,
  type Value,
} from './graph-builder.ts';
export {
  inlineWeights,
  safetensorsWeights,
  withWeightPatches,
  type WeightData,
  type WeightInfo,
  type WeightPart,
  type WeightPatch,
  type WeightSource,
} from './weights.ts';
export { toFloat16Products, type MixedPrecisionResult } from './mixed-precision.ts';
