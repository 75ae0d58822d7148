/**
 * A Hugging Face / diffusers snapshot of FLUX.1-dev (`model_index.json` with transformer/, vae/, text_encoder/,
 * text_encoder_2/, tokenizer/, tokenizer_2/) as CheckpointLoaderSimple's one entry: which folder holds which part.
 * Each part is read in place by the loader (shards with an index JSON or a single file); the DiT and VAE are in
 * diffusers' names, which their architectures' key layouts map onto BFL's.
 */

import fs from 'node:fs';
import path from 'node:path';
import { isModelFolder } from '@uso-studio/runtime';

/** The component folders of a FLUX pipeline snapshot and the tokenizers it carries. */
export interface PipelineSnapshot {
  dit: string;
  vae: string;
  /** CLIP-L text encoder (text_encoder/). */
  clip: string;
  /** T5-XXL encoder (text_encoder_2/). */
  t5: string;
  /** tokenizer_2/tokenizer.json when present (FLUX.1-dev ships it); else the shipped T5 tokenizer is used. */
  t5Tokenizer?: string;
  /** tokenizer/tokenizer.json when present (FLUX.1-dev's tokenizer/ has vocab.json + merges.txt only). */
  clipTokenizer?: string;
}

const PARTS = { dit: 'transformer', vae: 'vae', clip: 'text_encoder', t5: 'text_encoder_2' } as const;

/**
 * The parts of snapshot folder `dir`; a part that is missing or holds no readable model (an interrupted download)
 * is an error naming the folder and what was expected there.
 */
export function pipelineSnapshot(dir: string, displayName: string): PipelineSnapshot {
  const found = {} as Record<keyof typeof PARTS, string>;
  for (const [role, sub] of Object.entries(PARTS) as [keyof typeof PARTS, string][]) {
    const folder = path.join(dir, sub);
    if (!isModelFolder(folder)) {
      const what = fs.existsSync(folder) ? 'holds no model file (expected shards with a *.safetensors.index.json, or one .safetensors file)' : 'is missing';
      throw new Error(
        `${displayName}/${sub}: ${what}; a FLUX diffusers snapshot needs transformer/, vae/, text_encoder/ and text_encoder_2/ (an interrupted download?)`,
      );
    }
    found[role] = folder;
  }
  const tokenizer = (sub: string) => {
    const file = path.join(dir, sub, 'tokenizer.json');
    return fs.existsSync(file) ? file : undefined;
  };
  const t5Tokenizer = tokenizer('tokenizer_2');
  const clipTokenizer = tokenizer('tokenizer');
  return { ...found, ...(t5Tokenizer ? { t5Tokenizer } : {}), ...(clipTokenizer ? { clipTokenizer } : {}) };
}
