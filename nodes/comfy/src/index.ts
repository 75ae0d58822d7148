import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { NodePack } from '@uso-studio/core';
import { createModelService, MODEL_SERVICE_KEY } from './models/model-service.ts';
import {
  checkpointLoaderSimple,
  clipVisionLoader,
  dualClipLoader,
  loraLoaderModelOnly,
  unetLoader,
  vaeLoader,
} from './nodes/loaders.ts';
import {
  clipTextEncode,
  clipTextEncodeFlux,
  conditioningZeroOut,
  fluxGuidance,
  fluxKontextMultiReferenceLatentMethod,
  referenceLatent,
} from './nodes/conditioning.ts';
import { emptyLatentImage, emptySD3LatentImage, vaeDecode, vaeEncode } from './nodes/latent.ts';
import { latentUpscale, latentUpscaleBy } from './nodes/latent-upscale.ts';
import { loraLoader } from './nodes/lora-loader.ts';
import { clipLoader } from './nodes/clip-loader.ts';
import { vaeDecodeTiled, vaeEncodeTiled } from './nodes/vae-tiled.ts';
import { clipVisionEncode } from './nodes/clip-vision.ts';
import { easyCache, kSampler, kSamplerAdvanced } from './nodes/sampling.ts';
import { conditioningCombine, conditioningSetTimestepRange } from './nodes/conditioning-combine.ts';
import { modelSamplingFluxNode } from './nodes/model-sampling.ts';
import {
  basicGuider,
  basicScheduler,
  cfgGuider,
  disableNoise,
  kSamplerSelect,
  randomNoiseNode,
  samplerCustomAdvanced,
} from './nodes/custom-sampling.ts';

/** ComfyUI's generic nodes for FLUX-family models (loaders, text and conditioning, latents, sampling). */
export const pack: NodePack = {
  name: 'comfy',
  nodes: [
    checkpointLoaderSimple,
    unetLoader,
    dualClipLoader,
    vaeLoader,
    clipVisionLoader,
    loraLoaderModelOnly,
    loraLoader,
    clipLoader,
    clipTextEncode,
    clipTextEncodeFlux,
    conditioningZeroOut,
    conditioningCombine,
    conditioningSetTimestepRange,
    fluxGuidance,
    referenceLatent,
    fluxKontextMultiReferenceLatentMethod,
    clipVisionEncode,
    emptyLatentImage,
    emptySD3LatentImage,
    latentUpscale,
    latentUpscaleBy,
    vaeEncode,
    vaeDecode,
    vaeEncodeTiled,
    vaeDecodeTiled,
    kSampler,
    kSamplerAdvanced,
    samplerCustomAdvanced,
    randomNoiseNode,
    disableNoise,
    kSamplerSelect,
    basicScheduler,
    basicGuider,
    cfgGuider,
    modelSamplingFluxNode,
    easyCache,
  ],
  createServices(env) {
    const models = createModelService({
      modelsDir: env.modelsDir,
      ...(env.modelSearchPaths ? { modelSearchPaths: env.modelSearchPaths } : {}),
      cacheDir: join(env.cacheDir ?? join(dirname(env.modelsDir), 'cache'), 'graphs'),
      ...(env.executionProvider ? { provider: env.executionProvider } : {}),
      ...(env.memoryBudgetBytes !== undefined ? { workingMemoryCapBytes: env.memoryBudgetBytes } : {}),
      // Idle sessions beyond this are released, least recently used first, so switching models cannot exhaust RAM.
      memoryBudgetBytes: Math.floor(totalmem() * 0.6),
    });
    return { services: { [MODEL_SERVICE_KEY]: models }, dispose: () => models.close(), unloadModels: () => models.pool.releaseAll() };
  },
};

export * from './nodes/loaders.ts';
export * from './nodes/conditioning.ts';
export * from './nodes/latent.ts';
export * from './nodes/vae-tiled.ts';
export * from './flux/vae-runner.ts';
export * from './nodes/clip-vision.ts';
export * from './nodes/sampling.ts';
export * from './nodes/custom-sampling.ts';
export * from './nodes/conditioning-combine.ts';
export * from './nodes/model-sampling.ts';
export {
  createModelService,
  getModelService,
  ModelService,
  ModelMemoryError,
  MODEL_SERVICE_KEY,
  ISOLATE_RUNS_ABOVE_BYTES,
  type ModelServiceOptions,
  type GraphRequest,
  type ServiceGraph,
  type LoraReport,
} from './models/model-service.ts';
export { listModelFiles, resolveModelFile, isModelFolder, modelFolderKind, ModelFileError, MODEL_EXTENSIONS, type ModelFolder } from './models/model-files.ts';
export { COMFY_MODEL_FOLDERS, buildModelSearchPaths, canonicalFolder, linkRoots, modelRootsOf, searchDirs, type ExtraModelDir, type ModelRoots, type ModelSearchPaths } from './models/model-paths.ts';
export { mapLora, type LoraApplication, type LoraMapping } from './models/lora.ts';
export * from './models/descriptors.ts';
export * from './flux/conditioning.ts';
export { LatentPacking, packLatent, unpackLatent, gridIds, tokenLength, comfyReferenceIds, usoReferenceIds, type UsoPlacement, type RefSize } from './flux/packing.ts';
export { ditVelocityModel, ditRequest, DIT_TOKENS_PER_RUN, type DitVelocityOptions, type ReferencePlacer } from './flux/dit-runner.ts';
export {
  runKSampler,
  runKSamplerAdvanced,
  stepWindow,
  expectLatent,
  fixedLatent,
  seedOf,
  type Latent,
  type KSamplerInputs,
  type KSamplerAdvancedInputs,
  type KSamplerResult,
} from './flux/sample.ts';
export { guidedSample, easyCacheOptions, type GuidedSampleInputs, type GuidedSampleResult } from './flux/guided-sample.ts';
export { streamDenoiser, streamVelocity, entryTimestepRange, isEntryActive, type EntryModel } from './flux/cond-batch.ts';
export * from './flux/sampling-values.ts';
export { latentPreview, latentPreviewImage, offerLatentPreview } from './flux/preview.ts';
export { parsePromptWeights } from './text/prompt-weights.ts';
export { loadTokenizer, tokenizeT5, tokenizeClipFirstChunk, findTokenizer } from './text/tokenizers.ts';
export { ExtraModelPathsError, extraModelPathsFrom, hostModelSearchPaths, readExtraModelPaths, type ExtraModelPaths } from './models/extra-model-paths.ts';
export { ModelRunError } from './models/run-errors.ts';
