/**
 * The model architectures USO Studio knows. `defaultArchitectures()` is the registry the loader uses; the real FLUX,
 * T5 and CLIP architectures join it in a later issue; SigLIP, the demo ones and the real USO projector are here now.
 */

import { ArchitectureRegistry } from '../architecture.ts';
import { demoClip, demoT5 } from './demo-text.ts';
import { demoDit } from './demo-dit.ts';
import { fluxDit } from './flux-dit.ts';
import { demoVaeDecoder, demoVaeEncoder } from './demo-vae.ts';
import { demoVisionEncoder } from './demo-vision.ts';
import { fluxVaeDecoder } from './flux-vae-decoder.ts';
import { fluxVaeEncoder } from './flux-vae-encoder.ts';
import { usoProjector } from './uso-projector.ts';
import { siglipVision } from './siglip-vision.ts';
import { t5Encoder } from './t5-encoder.ts';
import { clipText } from './clip-text.ts';

/**
 * A registry with every architecture, one per role and file kind.
 *
 * @example
 * const graph = await loadModelGraph(file, 'dit', cacheDir, defaultArchitectures());
 */
export function defaultArchitectures(): ArchitectureRegistry {
  return new ArchitectureRegistry()
    .register(demoDit)
    .register(fluxDit)
    .register(demoVaeEncoder)
    .register(demoVaeDecoder)
    .register(fluxVaeEncoder)
    .register(fluxVaeDecoder)
    .register(demoVisionEncoder)
    .register(siglipVision)
    .register(usoProjector)
    .register(demoT5)
    .register(demoClip)
    .register(t5Encoder)
    .register(clipText);
}

export { DEMO_ARCHITECTURE_KEY, DEMO_FLAG_KEY, DEMO_IDS, isDemoFile } from './demo-common.ts';
export { FLUX_DIT_ID, buildFluxDit, fluxDit } from './flux-dit.ts';
export { FLUX_CONFIGS, describeLookalike, fluxRequiredWeights, inferFluxDitConfig, type FluxDitConfig, type FluxVariant } from './flux-dit-config.ts';
export { DEMO_DIT_CONSTANTS, demoDit, type DemoDitConfig } from './demo-dit.ts';
export { demoVaeDecoder, demoVaeEncoder, type DemoVaeDecoderConfig, type DemoVaeEncoderConfig } from './demo-vae.ts';
export { fluxVaeEncoder, FLUX_VAE_ENCODER_ID } from './flux-vae-encoder.ts';
export { fluxVaeDecoder, FLUX_VAE_DECODER_ID } from './flux-vae-decoder.ts';
export { decoderWeightShapes, encoderWeightShapes, FLUX_VAE_PUBLISHED, fluxVaeLookalike, type FluxVaeConfig } from './flux-vae-config.ts';
export { FLUX_VAE_DIFFUSERS_LAYOUT } from './flux-vae-diffusers.ts';
export { fluxVaeActivationBytes } from './flux-vae-memory.ts';
export { demoVisionEncoder, usoSelectedLayers, type DemoVisionConfig } from './demo-vision.ts';
export { usoProjector, type UsoProjectorConfig } from './uso-projector.ts';
export { buildSiglipVision, SIGLIP_HEADS_METADATA_KEY, siglipSelectedLayers, siglipVision, type SiglipVisionConfig } from './siglip-vision.ts';
export { demoClip, demoT5, type DemoEmbeddingConfig } from './demo-text.ts';
export { t5Encoder, buildT5Encoder, t5BucketTable, t5RelativeBucket, T5_XXL, type T5EncoderConfig } from './t5-encoder.ts';
export { clipText, buildClipText, CLIP_L, type ClipTextConfig } from './clip-text.ts';
