/**
 * From a weight file to a runnable .onnx: detect the architecture from the header, infer its config, check that
 * every required weight is present, build the graph (weights as external data pointing into the file) and cache it.
 * The cache key covers the file's real path, size and mtime and the architecture's id and version, so replacing a
 * file or changing a builder rebuilds the graph, and nothing else does.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readSafetensorsHeader, type SafetensorsHeader } from '../safetensors/header.ts';
import { withKeyPrefix } from '../safetensors/keys.ts';
import { safetensorsWeights, withWeightPatches, type WeightPatch } from '../onnx/weights.ts';
import type { Architecture, ArchitectureRegistry } from './architecture.ts';
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

/** The architecture whose detect() accepts the header, and the prefix-stripped view it accepted. */
export function detectArchitecture(
  header: SafetensorsHeader,
  role: Role,
  registry: ArchitectureRegistry,
): { architecture: Architecture<unknown>; view: SafetensorsHeader; keyPrefix: string } {
  const candidates = registry.forRole(role);
  for (const architecture of candidates) {
    for (const prefix of architecture.keyPrefixes ?? ['']) {
      const view = prefix === '' ? header : withKeyPrefix(header, prefix);
      if (view.tensors.size > 0 && architecture.detect(view)) return { architecture, view, keyPrefix: prefix };
    }
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

/**
 * Returns a cached .onnx for a weight file in a role, building it when needed.
 *
 * @example
 * const graph = await loadModelGraph('models/diffusion_models/demo-dit.safetensors', 'dit', 'cache/graphs', registry);
 * const session = await pool.acquire(graph, { disablePrepacking: true });
 */
export async function loadModelGraph(
  file: string,
  role: Role,
  cacheDir: string,
  registry: ArchitectureRegistry,
  options: LoadModelGraphOptions = {},
): Promise<LoadedModelGraph> {
  if (options.weightPatches && options.weightPatches.size > 0 && !options.patchKey) {
    throw new Error('loadModelGraph: weightPatches need a patchKey naming them (files, sizes, mtimes, strengths) for the cache');
  }
  const patched = options.weightPatches && options.weightPatches.size > 0 ? options.weightPatches : undefined;
  const header = readSafetensorsHeader(file);
  const real = realpathSync(header.path);
  const { architecture, view, keyPrefix } = detectArchitecture(header, role, registry);
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        real, header.fileSize, header.mtimeMs, architecture.id, architecture.version, keyPrefix, role,
        // Without patches the key stays what it always was, so existing caches stay valid.
        ...(patched ? [options.patchKey] : []),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  const stem = `${architecture.id}-v${architecture.version}-${basename(real).replace(/[^A-Za-z0-9._-]/g, '_')}${patched ? '-patched' : ''}-${key}`;
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

  const source = safetensorsWeights(view);
  const built = architecture.build(config, patched ? withWeightPatches(source, patched) : source);
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
