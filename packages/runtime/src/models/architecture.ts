/**
 * The architecture interface and registry. One module per architecture (FLUX DiT, FLUX VAE, SigLIP, T5, CLIP, the
 * demo models), each in three parts: infer the config from the weights, declare the weights it needs, build the graph.
 * Detection and config inference only look at the header (names, dtypes, shapes, metadata), never at tensor data.
 */

import type { SafetensorsHeader } from '../safetensors/header.ts';
import type { BuildResult, ComputeDtype } from '../onnx/graph-builder.ts';
import type { WeightSource } from '../onnx/weights.ts';
import type { Role } from './contract.ts';

/**
 * A naming scheme other than the canonical one (diffusers, a Hugging Face layout), mapped tensor by tensor onto the
 * canonical names before detection, so an architecture's other parts only ever see one scheme. Rename-only: one
 * stored tensor gives one canonical tensor; names it does not know map to undefined and are left out of the view.
 */
export interface KeyLayout {
  /** Shown by `models inspect` and in cache keys ('diffusers'). */
  readonly id: string;
  /** True when these (prefix-stripped) names are in this layout. */
  matches(names: readonly string[]): boolean;
  toCanonical(name: string): string | undefined;
  /**
   * For a layout that is more than a rename (diffusers FLUX: separate q/k/v where BFL fuses them, swapped halves):
   * builds the whole canonical view itself, composed tensors carrying `rowParts` (never copied), and says which
   * stored names it did not use. When present, the loader uses it instead of renaming with `toCanonical`.
   */
  view?(header: SafetensorsHeader): { view: SafetensorsHeader; unmapped: string[] };
}

/**
 * A model architecture for one role.
 *
 * @example
 * const demoDit: Architecture<DemoDitConfig> = {
 *   id: 'demo-dit', version: 1, role: 'dit', keyPrefixes: ['model.diffusion_model.', ''],
 *   detect: (h) => h.tensors.has('img_in.weight') && h.metadata['uso.architecture'] === 'demo-dit',
 *   inferConfig: (h) => ({ hidden: h.tensors.get('img_in.weight')!.shape[0]!, depth: countBlocks(h, 'blocks.') }),
 *   requiredWeights: (c) => ['img_in.weight', ...range(c.depth).map((i) => `blocks.${i}.attn.qkv.weight`)],
 *   build: (c, weights) => { const g = new GraphBuilder({ weights }); ...; return g.build(); },
 * };
 */
export interface Architecture<Config = unknown> {
  /** Stable id, used in cache file names and error messages ('flux-dit', 'siglip-vision', 'demo-dit'). */
  readonly id: string;
  /** Bump whenever the graph this architecture builds changes, so cached .onnx files are rebuilt. */
  readonly version: number;
  readonly role: Role;
  /**
   * Key prefixes under which this model may sit in a file, tried in order; '' means "at the top level". The loader
   * strips the first prefix that `detect` accepts, so `inferConfig`, `requiredWeights` and `build` see canonical
   * names only. Default: [''].
   */
  readonly keyPrefixes?: readonly string[];
  /** Other naming schemes this architecture reads, tried in order after the prefix is stripped. */
  readonly keyLayouts?: readonly KeyLayout[];
  /**
   * Compute dtypes the architecture is known to run in; default ['float32']. 'float16' means its products may run in
   * float16 (onnx/mixed-precision.ts), which accelerators are given; the loader falls back to float32 for others.
   */
  readonly computeDtypes?: readonly ComputeDtype[];
  /**
   * onnxruntime optimisation level for this architecture's sessions when the caller sets none. Default: 'all', or
   * 'extended' when the graph casts stored weights. 'extended' skips the CPU provider's NCHWc layout pass, which
   * writes a reordered copy of every conv weight at session creation (FLUX VAE F32: +250-310 MiB, two to three times the CPU).
   */
  readonly sessionOptimizationLevel?: 'extended' | 'all';
  /** True when the (prefix-stripped) header holds this architecture's weights. Looks at keys/shapes/metadata only. */
  detect(header: SafetensorsHeader): boolean;
  /** Reads widths from shapes and depths from key counts. Throws naming the file when something is inconsistent. */
  inferConfig(header: SafetensorsHeader): Config;
  /** Every weight key the graph reads for this config. */
  requiredWeights(config: Config): string[];
  /**
   * Names (of the prefix-stripped view) that the graph deliberately does not read, e.g. SigLIP's text tower, T5's
   * decoder, `position_ids`, scaled-fp8 `scale_weight`s. `models inspect` lists the rest as unknown.
   */
  ignoredWeights?(config: Config, names: Iterable<string>): string[];
  /**
   * For a file of this role that this architecture does not accept but resembles (a CLIP ViT vision tower given as
   * SigLIP, CLIP-G given as CLIP-L): what it looks like and what was expected, for the loader's refusal message.
   */
  lookalike?(header: SafetensorsHeader): string | undefined;
  /**
   * Estimated peak activation bytes of one run for an input of shape `inputDims` (the role's first input), so a
   * caller can split the work (tiled VAE) before onnxruntime would run out of memory, and a server can refuse a
   * prompt at validation. `otherDims` gives the shapes of other inputs by contract name where the caller knows them
   * (the DiT's `txt`, `ref_img`, `style`); an architecture assumes typical sizes for those not given. Absent: no
   * estimate.
   */
  activationBytes?(config: Config, inputDims: readonly number[], otherDims?: Readonly<Record<string, readonly number[]>>): number;
  /** Builds the graph. Must honour CONTRACTS[role]; weights come from `weights` by canonical key. */
  build(config: Config, weights: WeightSource): BuildResult;
}

/** Number of distinct `N` in keys shaped `<prefix>N.…` (e.g. countIndexed(h, 'double_blocks.') = 19 for FLUX). */
export function countIndexed(header: SafetensorsHeader, prefix: string): number {
  const seen = new Set<number>();
  for (const key of header.tensors.keys()) {
    if (!key.startsWith(prefix)) continue;
    const match = /^(\d+)\./.exec(key.slice(prefix.length));
    if (match) seen.add(Number(match[1]));
  }
  // Depth is the count of a contiguous 0..n-1 run; a gap means a broken checkpoint, caught by requiredWeights.
  return seen.size === 0 ? 0 : Math.max(...seen) + 1;
}

/** A set of architectures, looked up by role. Pass it to loadModelGraph. */
export class ArchitectureRegistry {
  private readonly list: Architecture<unknown>[] = [];

  /** Adds an architecture; ids must be unique. Earlier registrations win when several detect the same file. */
  register<C>(architecture: Architecture<C>): this {
    if (this.list.some((a) => a.id === architecture.id)) {
      throw new Error(`Architecture '${architecture.id}' is already registered`);
    }
    this.list.push(architecture as Architecture<unknown>);
    return this;
  }

  get(id: string): Architecture<unknown> | undefined {
    return this.list.find((a) => a.id === id);
  }

  forRole(role: Role): Architecture<unknown>[] {
    return this.list.filter((a) => a.role === role);
  }

  all(): readonly Architecture<unknown>[] {
    return this.list;
  }
}
