/**
 * The working memory of the real model files a prompt names, for the memory budget at validation: a sampler, VAE or
 * text encoder is traced back through its MODEL / VAE / CLIP input to the loader that names a file, the file's
 * header (only the header: nothing is loaded) says which architecture and config it is, and the architecture's own
 * `activationBytes` gives the working memory at the prompt's sizes (the FLUX DiT at its image, reference, text and
 * style tokens; the VAE at its picture size; T5 at its token count). Files that cannot be read, folders (diffusers
 * snapshots) and architectures without an estimate give undefined, and the caller keeps its rough figure.
 */
import { statSync } from 'node:fs';
import type { ApiPrompt, HostEnvironment } from '@uso-studio/core';
import { modelRootsOf, resolveModelFile, type ModelFolder } from '@uso-studio/nodes-comfy';
import { defaultArchitectures, detectArchitecture, readSafetensorsHeader, type ArchitectureRegistry, type Role } from '@uso-studio/runtime';

type Link = [string, number];

function isLink(v: unknown): v is Link {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';
}

/** The value type a loader output carries, by class and output index. */
type Carried = 'MODEL' | 'CLIP' | 'VAE';

/** Loaders and where their files live: the folder and input naming each file, per output type. */
const LOADERS: Readonly<Record<string, { folder: ModelFolder; inputs: readonly string[]; outputs: readonly Carried[] }>> = {
  CheckpointLoaderSimple: { folder: 'checkpoints', inputs: ['ckpt_name'], outputs: ['MODEL', 'CLIP', 'VAE'] },
  UNETLoader: { folder: 'diffusion_models', inputs: ['unet_name'], outputs: ['MODEL'] },
  VAELoader: { folder: 'vae', inputs: ['vae_name'], outputs: ['VAE'] },
  DualCLIPLoader: { folder: 'text_encoders', inputs: ['clip_name1', 'clip_name2'], outputs: ['CLIP'] },
  CLIPLoader: { folder: 'text_encoders', inputs: ['clip_name'], outputs: ['CLIP'] },
};

/** The input of a node that carries a value of `type` (LoRA loaders, patches: MODEL in, MODEL out). */
const PASS_THROUGH_INPUTS: Readonly<Record<Carried, readonly string[]>> = {
  MODEL: ['model'],
  CLIP: ['clip'],
  VAE: ['vae'],
};

interface Detected {
  readonly stamp: string;
  readonly estimate: ((dims: readonly number[], others?: Readonly<Record<string, readonly number[]>>) => number) | undefined;
}

/**
 * Looks up working-memory estimates of the files a prompt's loaders name. One instance per server: headers are
 * read once per file (until its size or mtime changes).
 */
export class ModelWorkingMemory {
  readonly #registry: ArchitectureRegistry;
  readonly #detected = new Map<string, Detected>();

  constructor(registry: ArchitectureRegistry = defaultArchitectures()) {
    this.#registry = registry;
  }

  /**
   * The working-memory estimate of the model that node `id`'s input `input` (a link to a `type` value) runs, in
   * `role`; undefined when it is not a real model file this can read.
   */
  estimator(prompt: ApiPrompt, env: HostEnvironment, id: string, input: string, type: Carried, role: Role): Detected['estimate'] {
    for (const file of this.#files(prompt, env, prompt[id]?.inputs?.[input], type)) {
      const estimate = this.#detect(file, role);
      if (estimate) return estimate;
    }
    return undefined;
  }

  /** Files a link to a `type` value comes from (a DualCLIPLoader names two), following pass-through nodes. */
  #files(prompt: ApiPrompt, env: HostEnvironment, value: unknown, type: Carried): string[] {
    const seen = new Set<string>();
    while (isLink(value) && !seen.has(value[0])) {
      seen.add(value[0]);
      const node = prompt[value[0]];
      if (!node) return [];
      const loader = LOADERS[node.class_type];
      if (loader) {
        if (loader.outputs[value[1]] !== type) return [];
        const files: string[] = [];
        for (const name of loader.inputs) {
          try {
            files.push(resolveModelFile(modelRootsOf(env), loader.folder, String(node.inputs?.[name])));
          } catch {
            // Validation reports a missing file; the rough figure stands in.
          }
        }
        return files;
      }
      value = PASS_THROUGH_INPUTS[type].map((name) => node.inputs?.[name]).find(isLink);
    }
    return [];
  }

  #detect(file: string, role: Role): Detected['estimate'] {
    let stamp: string;
    try {
      const st = statSync(file);
      if (!st.isFile()) return undefined; // a diffusers snapshot folder: not read here
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
    const key = `${role}\u0000${file}`;
    const hit = this.#detected.get(key);
    if (hit?.stamp === stamp) return hit.estimate;
    let estimate: Detected['estimate'];
    try {
      const { architecture, view } = detectArchitecture(readSafetensorsHeader(file), role, this.#registry);
      const config = architecture.inferConfig(view);
      const activationBytes = architecture.activationBytes?.bind(architecture);
      estimate = activationBytes ? (dims, others) => activationBytes(config, dims, others) : undefined;
    } catch {
      estimate = undefined; // not this role's file (a T5 asked for CLIP), or unreadable: the loader says so when it runs
    }
    this.#detected.set(key, { stamp, estimate });
    return estimate;
  }
}
