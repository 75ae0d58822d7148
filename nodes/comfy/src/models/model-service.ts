/**
 * The model service: the one place model nodes go through to turn weight files into inference. It resolves files
 * by ComfyUI folder inside the models directory, builds (or finds cached) graphs with runtime's loadModelGraph, applies
 * LoRAs inside the graph, and runs them through ONE SessionPool. The host (CLI, server worker) creates it and puts it
 * in `env.services.models`; nodes get it with `getModelService(env)` and never create sessions themselves.
 */

import { statSync } from 'node:fs';
import { freemem } from 'node:os';
import {
  ArchitectureRegistry,
  LORA_STRENGTHS_INPUT,
  SessionPool,
  Tensor,
  defaultArchitectures,
  detectArchitecture,
  loadModelGraph,
  readModelHeader,
  readSafetensorsHeader,
  type ComputeDtype,
  type LoadedModelGraph,
  type PooledSession,
  type Provider,
  type ProviderUse,
  type Role,
  type WeightPatch,
} from '@uso-studio/runtime';
import { listModelFiles, resolveModelFile, type ModelFolder } from './model-files.ts';
import type { ModelRoots, ModelSearchPaths } from './model-paths.ts';
import { mapLora, type LoraApplication } from './lora.ts';
import { ModelRunError, loadFailure, runFailure } from './run-errors.ts';

/** The key under which hosts put the service in `env.services`. */
export const MODEL_SERVICE_KEY = 'models';

/** Options of {@link createModelService}. */
export interface ModelServiceOptions {
  /** The models directory (ComfyUI layout: checkpoints/, loras/, ...). */
  modelsDir: string;
  /** Every directory searched per folder (the host's ModelSearchPaths); default: the folders of `modelsDir`. */
  modelSearchPaths?: ModelSearchPaths;
  /** Where built .onnx graphs are cached (e.g. `<data>/cache/graphs`). */
  cacheDir: string;
  /** Execution provider to try first; falls back to the CPU with one log line. Default 'cpu'. */
  provider?: Provider;
  /** Threads per operator (ORT intra-op); default: ORT's choice. */
  threads?: number;
  /** Architectures to detect files with; default: runtime's defaultArchitectures(). */
  registry?: ArchitectureRegistry;
  /** Estimated session bytes above which idle sessions are released, least recently used first. */
  memoryBudgetBytes?: number;
  /**
   * Skip ORT weight prepacking so large external weights are memory-mapped instead of copied. 'auto' (default)
   * does so for graphs over 1 GiB of weights, where the copy costs seconds and gigabytes.
   */
  disablePrepacking?: boolean | 'auto';
  /**
   * Bytes one run may use for activations before a node splits the work (VAEDecode/VAEEncode fall back to tiles).
   * Default: the memory free at the time of the run, as ComfyUI compares against free memory.
   */
  activationBudgetBytes?: number;
  /** A ceiling on that budget whatever is free: the host's memory budget (HostEnvironment.memoryBudgetBytes). */
  workingMemoryCapBytes?: number;
  /**
   * Memory a new session may take (weights as mapped plus one run's working memory) before the service refuses to
   * create it. Default: the memory free when it is asked for (os.freemem, i.e. MemAvailable on Linux).
   */
  memoryLimitBytes?: number;
  /**
   * Graphs with more weight bytes than this run in a process of their own (runtime's `isolate`), so an interrupt
   * stops a run in progress at once instead of waiting for it: onnxruntime-node cannot stop a run otherwise, and one
   * real FLUX DiT or VAE call takes many seconds on a CPU. Default 64 MiB: every real full-size model, none of the
   * demo or tiny ones (their runs are short, and a process per session would cost more than it saves). 0: all.
   */
  isolateRunsAboveBytes?: number;
  /** Receives notable events (provider fallback). Default: console.warn. */
  log?: (line: string) => void;
}

/** See ModelServiceOptions.isolateRunsAboveBytes. */
export const ISOLATE_RUNS_ABOVE_BYTES = 64 * 2 ** 20;

/** A model would not fit in the memory the service may use; says what it needs, what is free, and what would fit. */
export class ModelMemoryError extends Error {
  override name = 'ModelMemoryError';
  constructor(
    message: string,
    readonly needBytes: number,
    readonly freeBytes: number,
  ) {
    super(message);
  }
}

/** Input shape a role's working-memory estimate is asked about: a 1024x1024 image (4096 DiT tokens). */
const TYPICAL_INPUT: Partial<Record<Role, readonly number[]>> = {
  dit: [1, 4096, 64],
};

const STORED_BYTES: ReadonlyArray<[string, number]> = [['F8_E4M3 (float8)', 1], ['BF16/F16', 2]];

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/** A graph to run: a weight file in a role, optionally with LoRAs merged. */
export interface GraphRequest {
  /** Absolute path of the weight file (from resolveFile). */
  readonly file: string;
  readonly role: Role;
  readonly loras?: readonly LoraApplication[];
}

/** What LoRA merging did for a graph. */
export interface LoraReport {
  /** Per LoRA file: weights patched, and LoRA names that matched nothing. */
  readonly files: ReadonlyArray<{ name: string; patched: number; unmatched: readonly string[] }>;
}

/** A loaded graph plus what its LoRAs did. */
export interface ServiceGraph extends LoadedModelGraph {
  readonly lora?: LoraReport;
}

/** The model service. See the module comment. */
export class ModelService {
  readonly modelsDir: string;
  readonly roots: ModelRoots;
  readonly cacheDir: string;
  readonly registry: ArchitectureRegistry;
  readonly pool: SessionPool;
  private readonly provider: Provider;
  /**
   * What graphs are built to compute in: float32 on the CPU; float16 products where an accelerator is asked for
   * (architectures that do not list float16 stay float32; see runtime's mixed-precision pass).
   */
  readonly computeDtype: ComputeDtype;
  private readonly threads: number | undefined;
  private readonly disablePrepacking: boolean | 'auto';
  private readonly log: (line: string) => void;
  private readonly memoryLimitBytes: number | undefined;
  private readonly activationBudgetBytes: number | undefined;
  private readonly isolateRunsAboveBytes: number;
  private readonly workingMemoryCapBytes: number;
  private readonly graphs = new Map<string, Promise<ServiceGraph>>();
  private closed = false;

  constructor(options: ModelServiceOptions) {
    this.modelsDir = options.modelsDir;
    this.roots = options.modelSearchPaths ?? options.modelsDir;
    this.cacheDir = options.cacheDir;
    this.registry = options.registry ?? defaultArchitectures();
    this.provider = options.provider ?? 'cpu';
    this.computeDtype = this.provider === 'cpu' ? 'float32' : 'float16';
    this.threads = options.threads;
    this.disablePrepacking = options.disablePrepacking ?? 'auto';
    this.log = options.log ?? ((line) => console.warn(line));
    this.memoryLimitBytes = options.memoryLimitBytes;
    this.activationBudgetBytes = options.activationBudgetBytes;
    this.isolateRunsAboveBytes = options.isolateRunsAboveBytes ?? ISOLATE_RUNS_ABOVE_BYTES;
    this.workingMemoryCapBytes = options.workingMemoryCapBytes ?? Number.POSITIVE_INFINITY;
    this.pool = new SessionPool({
      log: this.log,
      ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
    });
  }

  /** The weight files of a ComfyUI folder (for combos). */
  listFiles(folder: ModelFolder): string[] {
    return listModelFiles(this.roots, folder);
  }

  /** The absolute path of a selected file, never outside its folder (throws ModelFileError). */
  resolveFile(folder: ModelFolder, name: string): string {
    return resolveModelFile(this.roots, folder, name);
  }

  /** True when `file` holds a model of `role` that a registered architecture recognises (header only). */
  hasRole(file: string, role: Role): boolean {
    try {
      detectArchitecture(readModelHeader(file), role, this.registry);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The graph for a request, built on first use and cached (in memory and as .onnx under cacheDir). Throws
   * runtime's ModelLoadError (naming the file and what was expected) for missing, foreign or truncated files.
   */
  graph(request: GraphRequest): Promise<ServiceGraph> {
    this.checkOpen();
    const key = requestKey(request);
    let pending = this.graphs.get(key);
    if (!pending) {
      pending = this.build(request);
      // A failed build is not cached: the user may fix the file and retry.
      pending.catch(() => this.graphs.delete(key));
      this.graphs.set(key, pending);
    }
    return pending;
  }

  /** The pooled session of a request's graph. Throws ModelMemoryError, before loading, when it would not fit. */
  async session(request: GraphRequest): Promise<PooledSession> {
    const graph = await this.graph(request);
    if (!this.pool.providersInUse().some((p) => p.model === graph.path)) this.checkMemory(request, graph);
    const disablePrepacking = this.disablePrepacking === 'auto' ? graph.weightBytes > 2 ** 30 : this.disablePrepacking;
    try {
      return await this.pool.acquire(graph, {
        provider: this.provider,
        disablePrepacking,
        isolate: graph.weightBytes > this.isolateRunsAboveBytes,
        ...(this.threads !== undefined ? { intraOpNumThreads: this.threads } : {}),
      });
    } catch (error) {
      const shown = loadFailure(error, request.file, request.role);
      if (shown instanceof ModelRunError) this.log(`[model] ${request.role} ${request.file} session failed: ${shown.raw}`);
      throw shown;
    }
  }

  /** Runs a request's graph. Feeds and outputs are named by the role's contract (runtime CONTRACTS). */
  async run(request: GraphRequest, feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const graph = await this.graph(request);
    const session = await this.session(request);
    // Run-time LoRA branches read their strengths from the graph input lora_strengths (one per LoRA, in order).
    const strengths = graph.lora && graph.lora.files.some((f) => f.patched > 0) ? activeLoras(request).map((l) => l.strength) : undefined;
    const all = strengths ? { ...feeds, [LORA_STRENGTHS_INPUT]: new Tensor('float32', [strengths.length], Float32Array.from(strengths)) } : feeds;
    try {
      return await this.pool.run(session, all, outputs);
    } catch (error) {
      const shown = runFailure(error, request.file, request.role, all);
      if (shown instanceof ModelRunError) this.log(`[model] ${request.role} ${request.file} run failed: ${shown.raw}`);
      throw shown;
    }
  }

  /**
   * The architecture's estimate of peak activation bytes for one run of a request's graph on an input of shape
   * `inputDims` (its role's first input); undefined when the architecture gives none.
   */
  async activationBytes(request: GraphRequest, inputDims: readonly number[]): Promise<number | undefined> {
    const graph = await this.graph(request);
    return this.registry.get(graph.architecture)?.activationBytes?.(graph.config, inputDims);
  }

  /**
   * What a session of the graph really holds: its weights as stored (mapped from the file, never copied to float32)
   * plus the architecture's working memory for a typical input (DiT: 1024x1024, one reference, two styles).
   */
  memoryNeed(request: GraphRequest, graph: LoadedModelGraph): { need: number; weights: number; working: number } {
    const typical = TYPICAL_INPUT[request.role];
    const architecture = this.registry.get(graph.architecture);
    const working = typical ? (architecture?.activationBytes?.(graph.config, typical) ?? 0) : 0;
    return { need: graph.weightBytes + working, weights: graph.weightBytes, working };
  }

  private checkMemory(request: GraphRequest, graph: LoadedModelGraph): void {
    const { need, weights, working } = this.memoryNeed(request, graph);
    const free = this.memoryLimitBytes ?? freemem();
    if (need <= free) return;
    // Which stored dtype of the same model would fit: its parameter count times the bytes per weight.
    const { view } = detectArchitecture(readSafetensorsHeader(request.file), request.role, this.registry);
    let params = 0;
    for (const t of view.tensors.values()) params += t.shape.reduce((a, b) => a * b, 1);
    const fits = STORED_BYTES.map(([label, bytes]) => ({ label, total: params * bytes + working })).find((o) => o.total < need && o.total <= free);
    const hint = fits
      ? `A ${fits.label} file of the same model (about ${gib(fits.total - working)} GB, e.g. ComfyUI's *_fp8_e4m3fn files) would fit.`
      : 'No smaller file of this model would fit; close other programs or unload models first.';
    throw new ModelMemoryError(
      `${request.file}: this ${graph.architecture} model needs about ${gib(need)} GB to run (${gib(weights)} GB of weights as ` +
        `stored + ${gib(working)} GB working memory), but only about ${gib(free)} GB is free. ${hint}`,
      need,
      free,
    );
  }

  /**
   * What one run may use for activations now: the `activationBudgetBytes` option, else the free memory; never more
   * than `workingMemoryCapBytes`.
   */
  activationBudget(): number {
    return Math.min(this.activationBudgetBytes ?? freemem(), this.workingMemoryCapBytes);
  }

  /** Provider requested and in use per live session (for /system_stats). */
  providersInUse(): ProviderUse[] {
    return this.pool.providersInUse();
  }

  /**
   * Releases every session after its queued runs finish and refuses further work. A worker calls this on shutdown,
   * then exits; it must never be terminated while inside a run.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    this.graphs.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('The model service is closed');
  }

  /**
   * What merging a request's LoRAs will do (weights patched, keys matching nothing), from the headers alone: no
   * graph is built, so a chain of LoRA loaders checks each LoRA without building the intermediate graphs.
   */
  loraReport(request: GraphRequest): LoraReport {
    return this.mapLoras(request).report;
  }

  private mapLoras(request: GraphRequest): { patches: Map<string, WeightPatch[]>; report: LoraReport } {
    const loras = activeLoras(request);
    const { view } = detectArchitecture(readModelHeader(request.file), request.role, this.registry);
    const patches = new Map<string, WeightPatch[]>();
    const files = loras.map((lora, i) => {
      const mapping = mapLora(
        readSafetensorsHeader(lora.file),
        view.tensors.keys(),
        (key) => view.tensors.get(key)?.shape,
        lora.strength,
        `lora${i}`,
        i,
        request.role,
      );
      for (const [target, list] of mapping.patches) patches.set(target, [...(patches.get(target) ?? []), ...list]);
      return { name: lora.name, patched: mapping.patched, unmatched: mapping.unmatched };
    });
    return { patches, report: { files } };
  }

  private async build(request: GraphRequest): Promise<ServiceGraph> {
    const loras = activeLoras(request);
    if (loras.length === 0) return loadModelGraph(request.file, request.role, this.cacheDir, this.registry, { computeDtype: this.computeDtype });
    const { patches, report } = this.mapLoras(request);
    // Strengths are fed at run time, so they are not part of the graph: only the files are.
    const patchKey = JSON.stringify(loras.map((l) => [l.file, fileStamp(l.file)]));
    const graph = await loadModelGraph(request.file, request.role, this.cacheDir, this.registry, { weightPatches: patches, patchKey, computeDtype: this.computeDtype });
    return { ...graph, lora: report };
  }
}

function fileStamp(file: string): [number, number] {
  const st = statSync(file);
  return [st.size, st.mtimeMs];
}

function requestKey(request: GraphRequest): string {
  const stamp = (file: string) => {
    try {
      return fileStamp(file);
    } catch {
      return null;
    }
  };
  return JSON.stringify([
    request.file,
    stamp(request.file),
    request.role,
    activeLoras(request).map((l) => [l.file, stamp(l.file)]),
  ]);
}

/** The LoRAs that apply (strength 0 switches one off, as in ComfyUI); their order gives the strength slots. */
function activeLoras(request: GraphRequest): readonly LoraApplication[] {
  return (request.loras ?? []).filter((l) => l.strength !== 0);
}

/**
 * Creates the host's model service.
 *
 * @example
 * const models = createModelService({ modelsDir: join(data, 'models'), cacheDir: join(data, 'cache', 'graphs') });
 * const env = { ...dirs, services: { [MODEL_SERVICE_KEY]: models } };
 * // ... on shutdown, after the last run finished:
 * await models.close();
 */
export function createModelService(options: ModelServiceOptions): ModelService {
  return new ModelService(options);
}

/** The host's model service from `env.services.models`, or an error saying how the host must provide it. */
export function getModelService(env: { services?: Record<string, unknown> }): ModelService {
  const service = env.services?.[MODEL_SERVICE_KEY];
  if (service instanceof ModelService) return service;
  if (service && typeof (service as ModelService).run === 'function' && typeof (service as ModelService).graph === 'function') {
    return service as ModelService;
  }
  throw new Error(
    'No model service: the host must create one with createModelService({ modelsDir, cacheDir }) from ' +
      `@uso-studio/nodes-comfy and put it in env.services.${MODEL_SERVICE_KEY} before running model nodes`,
  );
}
