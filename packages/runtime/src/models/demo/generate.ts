/**
 * Writes the demo model set into ComfyUI's folder layout: small safetensors files with no learned weights, the
 * tokenizers, and the demo input pictures. Every demo file goes through the same loader path as real files.
 */

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeSafetensors } from '../../safetensors/writer.ts';
import { DEMO_ARCHITECTURE_KEY, DEMO_FLAG_KEY, DEMO_IDS } from '../architectures/demo-common.ts';
import { demoStyleImageA, demoStyleImageB, demoSubjectImage } from './images.ts';
import { encodePngRgb } from './png.ts';
import { DEMO_CLIP_TOKENIZER, DEMO_T5_TOKENIZER, demoTokenizerJson } from './tokenizer.ts';
import {
  demoClipTensors,
  demoDitTensors,
  demoLoraTensors,
  demoProjectorTensors,
  demoT5Tensors,
  demoVaeTensors,
  demoVisionTensors,
  type TensorMap,
} from './weights.ts';

/** Paths of the demo files, relative to the models folder (inputs: relative to the input folder). */
export const DEMO_FILES = Object.freeze({
  checkpoint: 'checkpoints/uso-demo-flux-checkpoint.safetensors',
  dit: 'diffusion_models/uso-demo-flux-dit.safetensors',
  vae: 'vae/uso-demo-ae.safetensors',
  t5: 'text_encoders/uso-demo-t5xxl.safetensors',
  clip: 'text_encoders/uso-demo-clip_l.safetensors',
  t5Tokenizer: 'text_encoders/uso-demo-t5xxl.tokenizer.json',
  clipTokenizer: 'text_encoders/uso-demo-clip_l.tokenizer.json',
  vision: 'clip_vision/uso-demo-siglip-vision.safetensors',
  projector: 'model_patches/uso-demo-projector.safetensors',
  lora: 'loras/uso-demo-dit-lora.safetensors',
  subject: 'uso-demo-subject.png',
  styleA: 'uso-demo-style-a.png',
  styleB: 'uso-demo-style-b.png',
});

/** Architecture id written into the combined checkpoint's metadata. */
export const DEMO_CHECKPOINT_ID = 'uso-demo-flux-checkpoint';

/** ComfyUI's key prefixes inside a single-file FLUX checkpoint. */
export const CHECKPOINT_PREFIXES = Object.freeze({
  dit: 'model.diffusion_model.',
  vae: 'vae.',
  t5: 'text_encoders.t5xxl.transformer.',
  clip: 'text_encoders.clip_l.transformer.',
});

/** The `__metadata__` of a demo file. Text-encoder files also name their tokenizer (relative to the models folder). */
export function demoMetadata(architecture: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [DEMO_FLAG_KEY]: 'true',
    [DEMO_ARCHITECTURE_KEY]: architecture,
    description: 'USO Studio demo model: no learned weights',
    ...extra,
  };
}

const TOKENIZER_METADATA = {
  'uso_studio.tokenizer.t5xxl': DEMO_FILES.t5Tokenizer,
  'uso_studio.tokenizer.clip_l': DEMO_FILES.clipTokenizer,
};

function prefixed(prefix: string, tensors: TensorMap): TensorMap {
  return Object.fromEntries(Object.entries(tensors).map(([k, v]) => [prefix + k, v]));
}

/** Writes bytes to a temporary name and renames, so a reader never sees half a file. */
export function writeAtomically(path: string, data: Uint8Array | readonly Uint8Array[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Array.isArray(data) ? Buffer.concat(data as Uint8Array[]) : (data as Uint8Array));
  renameSync(tmp, path);
}

export interface GenerateDemoOptions {
  /** Rewrite files that already exist (default: keep them). */
  readonly force?: boolean;
}

/**
 * Writes every demo file that is missing (all of them with `force`) and returns the absolute paths written. Input
 * pictures go to `inputDir` when given. Takes well under a second and about 1 MB in all.
 *
 * @example
 * const { written } = await generateDemoModels('data/models', 'data/input');
 */
export async function generateDemoModels(
  modelsDir: string,
  inputDir?: string,
  options: GenerateDemoOptions = {},
): Promise<{ written: string[] }> {
  const written: string[] = [];
  const want = (path: string) => options.force === true || !existsSync(path);
  const safetensors = (rel: string, tensors: () => TensorMap, metadata: Record<string, string>) => {
    const path = join(modelsDir, rel);
    if (!want(path)) return;
    writeAtomically(path, encodeSafetensors(tensors(), metadata));
    written.push(path);
  };
  const text = (rel: string, json: () => unknown) => {
    const path = join(modelsDir, rel);
    if (!want(path)) return;
    writeAtomically(path, Buffer.from(JSON.stringify(json(), null, 2) + '\n', 'utf8'));
    written.push(path);
  };

  safetensors(
    DEMO_FILES.checkpoint,
    () => ({
      ...prefixed(CHECKPOINT_PREFIXES.dit, demoDitTensors()),
      ...prefixed(CHECKPOINT_PREFIXES.vae, demoVaeTensors()),
      ...prefixed(CHECKPOINT_PREFIXES.t5, demoT5Tensors()),
      ...prefixed(CHECKPOINT_PREFIXES.clip, demoClipTensors()),
    }),
    demoMetadata(DEMO_CHECKPOINT_ID, {
      'uso_studio.components': [DEMO_IDS.dit, DEMO_IDS.vaeEncoder, DEMO_IDS.vaeDecoder, DEMO_IDS.t5, DEMO_IDS.clip].join(','),
      ...TOKENIZER_METADATA,
    }),
  );
  safetensors(DEMO_FILES.dit, demoDitTensors, demoMetadata(DEMO_IDS.dit));
  safetensors(DEMO_FILES.vae, demoVaeTensors, demoMetadata(`${DEMO_IDS.vaeEncoder},${DEMO_IDS.vaeDecoder}`));
  safetensors(DEMO_FILES.t5, demoT5Tensors, demoMetadata(DEMO_IDS.t5, { 'uso_studio.tokenizer.t5xxl': DEMO_FILES.t5Tokenizer }));
  safetensors(DEMO_FILES.clip, demoClipTensors, demoMetadata(DEMO_IDS.clip, { 'uso_studio.tokenizer.clip_l': DEMO_FILES.clipTokenizer }));
  text(DEMO_FILES.t5Tokenizer, () => demoTokenizerJson(DEMO_T5_TOKENIZER));
  text(DEMO_FILES.clipTokenizer, () => demoTokenizerJson(DEMO_CLIP_TOKENIZER));
  safetensors(DEMO_FILES.vision, () => demoVisionTensors(), demoMetadata(DEMO_IDS.vision));
  safetensors(DEMO_FILES.projector, () => prefixed('feature_embedder.', demoProjectorTensors()), demoMetadata(DEMO_IDS.projector));
  safetensors(DEMO_FILES.lora, demoLoraTensors, demoMetadata('uso-demo-dit-lora', { 'uso_studio.lora_format': 'uso', 'uso_studio.lora_target': DEMO_IDS.dit }));

  if (inputDir !== undefined) written.push(...writeDemoInputs(inputDir, options));
  return { written };
}

/**
 * Writes the three demo input pictures (a subject and two styles) that are missing (all with `force`), returning the
 * paths written. The tiny real-architecture set uses the same pictures.
 */
export function writeDemoInputs(inputDir: string, options: GenerateDemoOptions = {}): string[] {
  const written: string[] = [];
  const pictures: [string, () => { width: number; height: number; rgb: Uint8Array }][] = [
    [DEMO_FILES.subject, () => demoSubjectImage()],
    [DEMO_FILES.styleA, () => demoStyleImageA()],
    [DEMO_FILES.styleB, () => demoStyleImageB()],
  ];
  for (const [rel, make] of pictures) {
    const path = join(inputDir, rel);
    if (options.force !== true && existsSync(path)) continue;
    const img = make();
    writeAtomically(path, encodePngRgb(img.width, img.height, img.rgb));
    written.push(path);
  }
  return written;
}
