export { CONTRACTS, ROLES, ContractError, checkContract, type GraphContract, type Role, type TensorSpec } from './contract.ts';
export { ArchitectureRegistry, countIndexed, type Architecture } from './architecture.ts';
export {
  MissingWeightsError,
  ModelLoadError,
  UnknownArchitectureError,
  detectArchitecture,
  loadModelGraph,
  type LoadedModelGraph,
  type LoadModelGraphOptions,
} from './loader.ts';
export { randomCheckpoint, randomWeight, type RandomWeightDType, type RandomWeightSpec } from './random-weights.ts';
export { COMPUTE_DTYPES, inspectModelFile, type InspectedFile, type InspectedModel } from './inspect.ts';
