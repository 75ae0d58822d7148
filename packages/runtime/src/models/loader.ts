/**
 * From a weight file (or a folder of shards) to a runnable .onnx: detect the architecture from the header, map other
 * naming schemes to the canonical one, infer its config, check that every required weight is present, build the
 * graph (weights as external data pointing into the files) and cache it. The cache key covers the files' real paths,
 * sizes and mtimes, the architecture's id and version, the shared blocks' version and the compute dtype, so replacing
 * a file or changing a builder rebuilds the graph, and nothing else does.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { SafetensorsHeader, SafetensorsTensorInfo } from '../safetensors/header.ts';
import { withKeyPrefix } from '../safetensors/keys.ts';
import { readModelHeader } from '../safetensors/model-files.ts';
import { BLOCKS_VERSION } from '../onnx/blocks.ts';
import { toFloat16Products } from '../onnx/mixed-precision.ts';
import type { ComputeDtype } from '../onnx/graph-builder.ts';
import { safetensorsWeights, withWeightPatches, type WeightPatch } from '../onnx/weights.ts';
import type { Architecture, ArchitectureRegistry, KeyLayout } from './architecture.ts';
import { CONTRACTS, checkContract, type Role } from './contract.ts';

/** A graph ready for SessionPool.acquire (it is a ModelRef). */
export interface LoadedModelGraph {
  /** The cached .onnx file. */
  readonly path: string;
  /** Folder the external data locations are relative to (pass along to the session pool). */
  readonly externalDataDir: string | null;
  readonly weightBytes: number;
  /** The weight file it was built from (real path). */
  readonly file: string;
  readonly role: Role;
  readonly architecture: string;
  readonly version: number;
  /** The key prefix stripped from the file's names ('' for none). */
  readonly keyPrefix: string;
  /** The naming scheme mapped to canonical names ('canonical' when none was needed, else e.g. 'diffusers'). */
  readonly keyLayout: string;
  readonly computeDtype: ComputeDtype;
  /** See ModelRef.disableConstantFolding: set when the graph casts stored weights. */
  readonly disableConstantFolding: boolean;
  /** See ModelRef.graphOptimizationLevel: the architecture's `sessionOptimizationLevel`, when it declares one. */
  readonly graphOptimizationLevel?: 'extended' | 'all';
  readonly config: unknown;
  /** True when the graph came from the cache without building. */
  readonly cached: boolean;
}

/** Options of {@link loadModelGraph}. */
export interface LoadModelGraphOptions {
  /** Low-rank updates (LoRAs) by canonical weight key, applied inside the graph. */
  readonly weightPatches?: ReadonlyMap<string, readonly WeightPatch[]>;
  /** What the patches are (LoRA files with size, mtime and strength), folded into the cache key. Required with patches. */
  readonly patchKey?: string;
  /** Dtype to compute in (default float32); architectures that do not list it in `computeDtypes` use float32. */
  readonly computeDtype?: ComputeDtype;
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** No registered architecture of the role recognises the file. */
export class UnknownArchitectureError extends ModelLoadError {
  override name = 'UnknownArchitectureError';
}

/** The architecture was recognised but weights it needs are absent. */
export class MissingWeightsError extends ModelLoadError {
  override name = 'MissingWeightsError';
  constructor(
    file: string,
    readonly architecture: string,
    readonly missing: readonly string[],
  ) {
    const shown = missing.slice(0, 8).join(', ');
    const more = missing.length > 8 ? ` and ${missing.length - 8} more` : '';
    super(file, `incomplete ${architecture} checkpoint: ${missing.length} required weight(s) missing: ${shown}${more}`);
  }
}

/** What detection found: the architecture, the canonical view it accepted, and how the names were mapped. */
export interface DetectedArchitecture {
  readonly architecture: Architecture<unknown>;
  /** The tensors under canonical names (prefix stripped, layout applied). */
  readonly view: SafetensorsHeader;
  readonly keyPrefix: string;
  readonly keyLayout: string;
  /** Names under the prefix that the layout could not map (reported as unknown by `models inspect`). */
  readonly unmapped: readonly string[];
}

/** The architecture whose detect() accepts the header, and the canonical view it accepted. */
export function detectArchitecture(header: SafetensorsHeader, role: Role, registry: ArchitectureRegistry): DetectedArchitecture {
  const candidates = registry.forRole(role);
  for (const architecture of candidates) {
    const found = matchArchitecture(header, architecture);
    if (found) return found;
  }
  const sample = [...header.tensors.keys()].slice(0, 5).join(', ');
  const tried = candidates.map((a) => a.id).join(', ') || 'none registered';
  const looks = new Set(candidates.map((a) => a.lookalike?.(header)).filter((x): x is string => x !== undefined));
  throw new UnknownArchitectureError(
    header.path,
    `no known ${role} architecture matches its weights (tried: ${tried}; first keys: ${sample || 'none'})` +
      [...looks].map((l) => `; ${l}`).join(''),
  );
}

/** The canonical view of `header` under one architecture's prefixes and layouts, if its detect() accepts one. */
export function matchArchitecture(header: SafetensorsHeader, architecture: Architecture<unknown>): DetectedArchitecture | undefined {
  for (const prefix of architecture.keyPrefixes ?? ['']) {
    const prefixed = prefix === '' ? header : withKeyPrefix(header, prefix);
    if (prefixed.tensors.size === 0) continue;
    const names = [...prefixed.tensors.keys()];
    const layout = architecture.keyLayouts?.find((l) => l.matches(names));
    const { view, unmapped } = layout ? applyLayout(prefixed, layout) : { view: prefixed, unmapped: [] };
    if (view.tensors.size > 0 && architecture.detect(view)) {
      return { architecture, view, keyPrefix: prefix, keyLayout: layout?.id ?? 'canonical', unmapped };
    }
  }
  return undefined;
}

function applyLayout(header: SafetensorsHeader, layout: KeyLayout): { view: SafetensorsHeader; unmapped: string[] } {
  if (layout.view) return layout.view(header);
  const tensors = new Map<string, SafetensorsTensorInfo>();
  const unmapped: string[] = [];
  for (const [name, info] of header.tensors) {
    const canonical = layout.toCanonical(name);
    if (canonical === undefined) unmapped.push(name);
    else if (tensors.has(canonical)) throw new ModelLoadError(header.path, `${layout.id} names '${tensors.get(canonical)!.name}' and '${name}' both map to '${canonical}'`);
    else tensors.set(canonical, { ...info, name: canonical, file: info.file ?? header.path });
  }
  return { view: { ...header, tensors }, unmapped };
}

/**
 * Returns a cached .onnx for a weight file in a role, building it when needed.
 *
 * @example
 * const graph = await loadModelGraph('models/diffusion_models/demo-dit.safetensors', 'dit', 'cache/graphs', registry);
 * const session = await pool.acquire(graph, { disablePrepacking: true });
 */
export async function loadModelGraph(
  source: string,
  role: Role,
  cacheDir: string,
  registry: ArchitectureRegistry,
  options: LoadModelGraphOptions = {},
): Promise<LoadedModelGraph> {
  if (options.weightPatches && options.weightPatches.size > 0 && !options.patchKey) {
    throw new Error('loadModelGraph: weightPatches need a patchKey naming them (files, sizes, mtimes; strengths too unless fed through lora_strengths) for the cache');
  }
  const patched = options.weightPatches && options.weightPatches.size > 0 ? options.weightPatches : undefined;
  const header = readModelHeader(source);
  const real = realpathSync(header.path);
  const { architecture, view, keyPrefix, keyLayout } = detectArchitecture(header, role, registry);
  const asked = options.computeDtype ?? 'float32';
  const computeDtype: ComputeDtype = (architecture.computeDtypes ?? ['float32']).includes(asked) ? asked : 'float32';
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        real, header.fileSize, header.mtimeMs, header.shards ?? null, architecture.id, architecture.version,
        BLOCKS_VERSION, keyPrefix, keyLayout, role, computeDtype, patched ? options.patchKey : null,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  const stem = `${architecture.id}-v${architecture.version}-${basename(real).replace(/[^A-Za-z0-9._-]/g, '_')}${computeDtype === 'float32' ? '' : `-${computeDtype}`}${patched ? '-patched' : ''}-${key}`;
  const onnxPath = join(cacheDir, `${stem}.onnx`);
  const infoPath = join(cacheDir, `${stem}.json`);

  if (existsSync(onnxPath) && existsSync(infoPath)) {
    try {
      const info = JSON.parse(readFileSync(infoPath, 'utf8')) as Omit<LoadedModelGraph, 'cached'>;
      return { ...info, path: onnxPath, cached: true };
    } catch {
      // A torn sidecar: rebuild below.
    }
  }

  let config: unknown;
  try {
    config = architecture.inferConfig(view);
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(real, `cannot infer the ${architecture.id} config: ${(error as Error).message}`);
  }
  const missing = architecture.requiredWeights(config).filter((k) => !view.tensors.has(k));
  if (missing.length > 0) throw new MissingWeightsError(real, architecture.id, missing.map((k) => keyPrefix + k));

  const weights = safetensorsWeights(view);
  // Architectures build float32 graphs; float16 compute is the mixed-precision pass over them (products in float16).
  const float32 = architecture.build(config, patched ? withWeightPatches(weights, patched) : weights);
  const mixed = computeDtype === 'float16' ? toFloat16Products(float32.bytes) : undefined;
  const built = { ...float32, bytes: mixed?.bytes ?? float32.bytes, castsWeights: float32.castsWeights || (mixed?.castsWeights ?? false) };
  checkContract(built.bytes, CONTRACTS[role], `${architecture.id} graph for ${real}`);
  const info: Omit<LoadedModelGraph, 'cached'> = {
    path: onnxPath,
    externalDataDir: built.externalDataDir,
    weightBytes: built.weightBytes,
    file: real,
    role,
    architecture: architecture.id,
    version: architecture.version,
    keyPrefix,
    keyLayout,
    computeDtype,
    disableConstantFolding: built.castsWeights,
    ...(architecture.sessionOptimizationLevel ? { graphOptimizationLevel: architecture.sessionOptimizationLevel } : {}),
    config,
  };
  mkdirSync(cacheDir, { recursive: true });
  // Write then rename, so a concurrent loader never reads half a file; the sidecar goes last as the commit marker.
  const tmp = `.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(onnxPath + tmp, built.bytes);
  renameSync(onnxPath + tmp, onnxPath);
  writeFileSync(infoPath + tmp, JSON.stringify(info, null, 2));
  renameSync(infoPath + tmp, infoPath);
  return { ...info, cached: false };
}
