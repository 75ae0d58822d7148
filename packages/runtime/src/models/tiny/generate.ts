/**
 * `uso-studio models tiny`: a complete USO model set in the REAL architectures at toy widths, with random weights,
 * official key names and the published file layouts: ComfyUI's single-file `flux1-dev-fp8` checkpoint (DiT in
 * F8_E4M3, T5, CLIP and VAE under their prefixes), split files in BF16 and FP16, ByteDance's USO LoRA and projector,
 * and a SigLIP vision file. It makes noise, not pictures: it is for tests, benchmarks and for checking that an install
 * runs the real graphs end to end. Every name contains `tiny` and the metadata says the weights are random.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, type SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { CHECKPOINT_PREFIXES, writeAtomically, writeDemoInputs, type GenerateDemoOptions } from '../demo/generate.ts';
import { TINY_SIGLIP, tinyTensors } from './tiny-specs.ts';

/** Paths of the tiny files, relative to the models folder. */
export const TINY_FILES = Object.freeze({
  checkpoint: 'checkpoints/uso-tiny-flux1-dev-fp8.safetensors',
  dit: 'diffusion_models/uso-tiny-flux1-dev.safetensors',
  vae: 'vae/uso-tiny-ae.safetensors',
  t5: 'text_encoders/uso-tiny-t5xxl_fp16.safetensors',
  clip: 'text_encoders/uso-tiny-clip_l.safetensors',
  vision: 'clip_vision/uso-tiny-sigclip_vision_patch14.safetensors',
  projector: 'model_patches/uso-tiny-flux1-projector-v1.safetensors',
  lora: 'loras/uso-tiny-flux1-dit-lora-v1.safetensors',
});

/** Metadata key that marks a tiny file. */
export const TINY_FLAG_KEY = 'uso_studio.tiny';

function tinyMetadata(architecture: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [TINY_FLAG_KEY]: 'true',
    'uso_studio.architecture': architecture,
    description: 'USO Studio tiny model: the real architecture at toy widths with random weights (no learned weights; for tests and install checks)',
    ...extra,
  };
}

/**
 * Writes every tiny file that is missing (all with `force`) and the demo input pictures into `inputDir`, returning
 * the absolute paths written. About 10 MB, well under a second.
 *
 * @example
 * const { written } = generateTinyModels('data/models', 'data/input');
 */
export function generateTinyModels(modelsDir: string, inputDir?: string, options: GenerateDemoOptions = {}): { written: string[] } {
  const written: string[] = [];
  const file = (rel: string, tensors: () => Record<string, SafetensorsTensorInput>, metadata: Record<string, string>) => {
    const path = join(modelsDir, rel);
    if (options.force !== true && existsSync(path)) return;
    writeAtomically(path, encodeSafetensors(tensors(), metadata));
    written.push(path);
  };
  file(
    TINY_FILES.checkpoint,
    () => ({
      ...tinyTensors('dit', 'F8_E4M3', CHECKPOINT_PREFIXES.dit),
      ...tinyTensors('vae', 'BF16', CHECKPOINT_PREFIXES.vae),
      ...tinyTensors('t5', 'F8_E4M3', CHECKPOINT_PREFIXES.t5),
      ...tinyTensors('clip', 'F16', CHECKPOINT_PREFIXES.clip),
    }),
    tinyMetadata('flux-dit,flux-vae,t5-encoder,clip-text'),
  );
  file(TINY_FILES.dit, () => tinyTensors('dit', 'BF16'), tinyMetadata('flux-dit'));
  file(TINY_FILES.vae, () => tinyTensors('vae', 'F16'), tinyMetadata('flux-vae'));
  file(TINY_FILES.t5, () => tinyTensors('t5', 'F16'), tinyMetadata('t5-encoder'));
  file(TINY_FILES.clip, () => tinyTensors('clip', 'F16'), tinyMetadata('clip-text'));
  file(TINY_FILES.vision, () => tinyTensors('siglip', 'F16'), tinyMetadata('siglip-vision', { num_attention_heads: String(TINY_SIGLIP.heads) }));
  file(TINY_FILES.projector, () => tinyTensors('projector', 'BF16'), tinyMetadata('uso-projector'));
  file(TINY_FILES.lora, () => tinyTensors('lora', 'BF16'), tinyMetadata('uso-lora', { 'uso_studio.lora_format': 'uso' }));
  if (inputDir !== undefined) written.push(...writeDemoInputs(inputDir, options));
  return { written };
}
