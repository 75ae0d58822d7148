/**
 * What is inside a weight file, answered with the loader's own detection: for every role, the architecture that
 * `detectArchitecture` picks (a combined checkpoint holds several: DiT, VAE, T5, CLIP), its key prefix, inferred
 * config, stored dtypes, the tensors it uses, those it deliberately ignores, those nobody claims, and the memory its
 * weights need per compute dtype. `uso-studio models inspect` prints this, so a user who gets a load error sees why.
 */

import type { SafetensorsHeader } from '../safetensors/header.ts';
import { readModelHeader } from '../safetensors/model-files.ts';
import { elementCount, type SafetensorsDType } from '../safetensors/dtypes.ts';
import { withKeyPrefix } from '../safetensors/keys.ts';
import type { ComputeDtype } from '../onnx/graph-builder.ts';
import type { Architecture, ArchitectureRegistry } from './architecture.ts';
import { ROLES, type Role } from './contract.ts';
import { UnknownArchitectureError, detectArchitecture } from './loader.ts';

/** Compute dtypes a graph may run in (float32 on the CPU; float16 where an accelerator is asked for). */
export const COMPUTE_DTYPES: readonly ComputeDtype[] = ['float32', 'float16'];

/** One model found in a file. Tensor names are as stored in the file (prefix included). */
export interface InspectedModel {
  readonly role: Role;
  readonly architecture: string;
  readonly version: number;
  /** The key prefix the model sits under ('' for the top level). */
  readonly keyPrefix: string;
  /** The name layout the loader mapped from ('canonical', or e.g. 'diffusers'). */
  readonly keyLayout: string;
  /** The inferred config, or undefined when inference failed (see `error`). */
  readonly config: unknown;
  /** Why the loader would refuse this model (config inference failed, required weights missing). */
  readonly error?: string;
  /** Tensor count per stored dtype, over the used tensors. */
  readonly dtypes: Readonly<Partial<Record<SafetensorsDType, number>>>;
  readonly used: readonly string[];
  readonly ignored: readonly string[];
  /** Tensors under this model's prefix that no model of the file reads or deliberately ignores. */
  readonly unknown: readonly string[];
  /** Required weights the file lacks (the loader's MissingWeightsError). */
  readonly missing: readonly string[];
  /** Bytes of the used weights as stored (mapped from the file). */
  readonly storedBytes: number;
  /**
   * Bytes of the used weights held in each compute dtype: what a provider that uploads or converts every weight (an
   * accelerator) holds. On the CPU the weights stay mapped in their stored dtype (`storedBytes`).
   */
  readonly computeBytes: Readonly<Record<ComputeDtype, number>>;
}

export interface InspectedFile {
  readonly file: string;
  readonly fileSize: number;
  readonly tensorCount: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly models: readonly InspectedModel[];
  /** Tensors no detected model uses or ignores. */
  readonly unclaimed: readonly string[];
  /** For roles where nothing was detected but the file resembles a known architecture: what it looks like. */
  readonly notes: readonly string[];
}

const COMPUTE_BYTES: Readonly<Record<ComputeDtype, number>> = { float32: 4, float16: 2 };

interface Found {
  role: Role;
  architecture: string;
  version: number;
  keyPrefix: string;
  keyLayout: string;
  /** Canonical name -> name as stored in the file. */
  storedName: Map<string, string>;
  config: unknown;
  error?: string;
  used: string[];
  ignored: string[];
  missing: string[];
  view: SafetensorsHeader;
}

/** Detects one role the way the loader does; undefined when no architecture of the role matches. */
function findRole(header: SafetensorsHeader, role: Role, registry: ArchitectureRegistry): Found | undefined {
  let detected: ReturnType<typeof detectArchitecture>;
  try {
    detected = detectArchitecture(header, role, registry);
  } catch (error) {
    if (error instanceof UnknownArchitectureError) return undefined;
    throw error;
  }
  const { architecture, view, keyPrefix, keyLayout } = detected;
  const names = [...view.tensors.keys()];
  const found: Found = {
    role, architecture: architecture.id, version: architecture.version, keyPrefix, keyLayout,
    storedName: storedNames(header, architecture, keyPrefix, keyLayout), config: undefined,
    used: [], ignored: [], missing: [], view,
  };
  try {
    found.config = architecture.inferConfig(view);
  } catch (error) {
    found.error = `cannot infer the ${architecture.id} config: ${(error as Error).message}`;
    return found;
  }
  const required = architecture.requiredWeights(found.config);
  found.used = required.filter((k) => view.tensors.has(k));
  found.missing = required.filter((k) => !view.tensors.has(k));
  if (found.missing.length > 0) found.error = `${found.missing.length} required weight(s) missing`;
  const used = new Set(found.used);
  found.ignored = (architecture.ignoredWeights?.(found.config, names) ?? []).filter((k) => !used.has(k));
  return found;
}

/** Canonical name -> stored name, undoing the prefix and the key layout the loader applied. */
function storedNames(header: SafetensorsHeader, architecture: Architecture<unknown>, prefix: string, layoutId: string): Map<string, string> {
  const layout = architecture.keyLayouts?.find((l) => l.id === layoutId);
  const map = new Map<string, string>();
  for (const name of header.tensors.keys()) {
    if (!name.startsWith(prefix)) continue;
    const canonical = layout ? layout.toCanonical(name.slice(prefix.length)) : name.slice(prefix.length);
    if (canonical !== undefined) map.set(canonical, name);
  }
  return map;
}

/** Lookalike descriptions (e.g. "it looks like a CLIP ViT-L/14 vision tower ...") for a role nothing matched. */
function lookalikes(header: SafetensorsHeader, role: Role, registry: ArchitectureRegistry): string[] {
  const notes = new Set<string>();
  for (const architecture of registry.forRole(role)) {
    for (const prefix of architecture.keyPrefixes ?? ['']) {
      const view = prefix === '' ? header : withKeyPrefix(header, prefix);
      const note = view.tensors.size > 0 ? architecture.lookalike?.(view) : undefined;
      if (note) notes.add(`${role}: ${note}`);
    }
  }
  return [...notes];
}

/**
 * Inspects one safetensors file, or a folder of shards, with a registry (usually defaultArchitectures()).
 *
 * @example
 * const report = inspectModelFile('models/clip_vision/sigclip_vision_patch14_384.safetensors', defaultArchitectures());
 * report.models[0]; // { role: 'vision_encoder', architecture: 'siglip-vision', config: { width: 1152, ... }, unknown: [] }
 */
export function inspectModelFile(file: string, registry: ArchitectureRegistry): InspectedFile {
  const header = readModelHeader(file);
  const found: Found[] = [];
  const notes: string[] = [];
  for (const role of ROLES) {
    const model = findRole(header, role, registry);
    if (model) found.push(model);
    else notes.push(...lookalikes(header, role, registry));
  }
  const stored = (f: Found, names: readonly string[]) => names.map((n) => f.storedName.get(n) ?? f.keyPrefix + n);
  const underPrefix = (f: Found) => [...header.tensors.keys()].filter((n) => n.startsWith(f.keyPrefix));
  const claimedBy = found.map((f) => new Set([...stored(f, f.used), ...stored(f, f.ignored)]));
  const claimed = new Set(claimedBy.flatMap((set) => [...set]));
  const models = found.map((f): InspectedModel => {
    // A tensor another model of the file reads or ignores (the VAE decoder's for the encoder) is not unknown here.
    const unknown = underPrefix(f).filter((n) => !claimedBy.some((set) => set.has(n)));
    const dtypes: Partial<Record<SafetensorsDType, number>> = {};
    let storedBytes = 0;
    let elements = 0;
    for (const name of f.used) {
      const t = f.view.tensors.get(name)!;
      dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
      storedBytes += t.length;
      elements += elementCount(t.shape);
    }
    return {
      role: f.role,
      architecture: f.architecture,
      version: f.version,
      keyPrefix: f.keyPrefix,
      keyLayout: f.keyLayout,
      config: f.config,
      ...(f.error ? { error: f.error } : {}),
      dtypes,
      used: stored(f, f.used),
      ignored: stored(f, f.ignored),
      unknown,
      missing: stored(f, f.missing),
      storedBytes,
      computeBytes: { float32: elements * COMPUTE_BYTES.float32, float16: elements * COMPUTE_BYTES.float16 },
    };
  });
  return {
    file: header.path,
    fileSize: header.fileSize,
    tensorCount: header.tensors.size,
    metadata: header.metadata,
    models,
    unclaimed: [...header.tensors.keys()].filter((n) => !claimed.has(n)),
    notes,
  };
}
