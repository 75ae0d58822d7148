/**
 * The engine's set-up in one place: node packs, their services (model sessions...), the registry and core's Executor.
 * The server's worker thread, `uso-studio run`, `uso-studio worker` (through its worker threads) and the benchmarks
 * all build it the same way, so a prompt runs identically wherever it runs.
 */
import { Executor, NodeRegistry } from '@uso-studio/core';
import type { ApiPrompt, HostEnvironment, NodeDefinition, NodeLogger, NodePack, PackServices, RunOptions, RunOutcome } from '@uso-studio/core';
import { cachePolicyFor } from './cache-setting.ts';
import { buildRegistry, loadPacks } from './packs.ts';
import type { CacheSetting } from './worker-protocol.ts';

export interface EngineRuntimeOptions {
  /** Node pack module specifiers (package names or absolute paths). */
  packs: readonly string[];
  env: Omit<HostEnvironment, 'services'>;
  cache?: CacheSetting;
  logger?: NodeLogger;
  /** Wraps each node definition before it is registered (the worker thread adds its interrupt checks). */
  wrapNode?: (def: NodeDefinition) => NodeDefinition;
  /** Called with each pack's services as soon as they exist, before any prompt runs. */
  onServices?: (services: Record<string, unknown>) => void;
}

export class EngineRuntime {
  readonly env: HostEnvironment;
  readonly registry: NodeRegistry;
  readonly packs: readonly NodePack[];
  readonly #executor: Executor;
  readonly #services: PackServices[];
  readonly #logger: NodeLogger | undefined;

  private constructor(
    env: HostEnvironment,
    registry: NodeRegistry,
    packs: readonly NodePack[],
    executor: Executor,
    services: PackServices[],
    logger: NodeLogger | undefined,
  ) {
    this.#logger = logger;
    this.env = env;
    this.registry = registry;
    this.packs = packs;
    this.#executor = executor;
    this.#services = services;
  }

  static async create(options: EngineRuntimeOptions): Promise<EngineRuntime> {
    const env: HostEnvironment = { ...options.env, services: {} };
    const packs = await loadPacks(options.packs);
    const built = buildRegistry(packs);
    const registry = options.wrapNode ? new NodeRegistry([...built.definitions()].map(options.wrapNode)) : built;
    // Only an executing host creates pack services (onnxruntime session pools...): validation never does.
    const services: PackServices[] = [];
    try {
      for (const pack of packs) {
        if (!pack.createServices) continue;
        const created = await pack.createServices(env);
        services.push(created);
        Object.assign(env.services!, created.services);
        options.onServices?.(created.services);
      }
    } catch (error) {
      await disposeAll(services, options.logger);
      throw error;
    }
    const executor = new Executor({ registry, env, ...(options.logger ? { logger: options.logger } : {}), cache: cachePolicyFor(options.cache) });
    return new EngineRuntime(env, registry, packs, executor, services, options.logger);
  }

  /**
   * Runs a prompt. When its signal aborts, runs in progress that can be stopped are stopped at once: every service
   * (or its `pool`) with `interruptRuns()`, i.e. runtime's SessionPool, kills its isolated sessions' runs, so an
   * interrupt does not wait for the end of a long onnxruntime call.
   */
  async run(prompt: ApiPrompt, options: RunOptions): Promise<RunOutcome> {
    const stopRuns = () => this.#interruptRuns();
    options.signal?.addEventListener('abort', stopRuns, { once: true });
    try {
      return await this.#executor.run(prompt, options);
    } finally {
      options.signal?.removeEventListener('abort', stopRuns);
    }
  }

  #interruptRuns(): void {
    const seen = new Set<object>();
    for (const service of Object.values(this.env.services ?? {})) {
      for (const target of [service, (service as { pool?: unknown } | null)?.pool]) {
        const fn = (target as { interruptRuns?: unknown } | null)?.interruptRuns;
        if (typeof fn !== 'function' || seen.has(target as object)) continue;
        seen.add(target as object);
        try {
          (fn as () => unknown).call(target);
        } catch (error) {
          this.#logger?.warn(`stopping runs failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }

  /** Drops cached values (releasing the tensors and model descriptors they hold); with `unloadModels` also sessions. */
  async free(unloadModels: boolean, freeMemory: boolean, logger?: NodeLogger): Promise<void> {
    if (unloadModels || freeMemory) this.#executor.clearCache();
    if (!unloadModels) return;
    for (const s of this.#services) {
      try {
        await s.unloadModels?.();
      } catch (error) {
        logger?.warn(`unloading models failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /**
   * Execution providers really in use: any service with `providersInUse()` (the runtime's SessionPool returns
   * `{actual}` records) contributes; with no live session that is plain CPU.
   */
  executionProviders(): string[] {
    const found = new Set<string>();
    for (const service of Object.values(this.env.services ?? {})) {
      const fn = (service as { providersInUse?: unknown } | null)?.providersInUse;
      if (typeof fn !== 'function') continue;
      try {
        for (const use of (fn as () => unknown[]).call(service)) {
          const name = typeof use === 'string' ? use : (use as { actual?: unknown })?.actual;
          if (typeof name === 'string') found.add(name);
        }
      } catch {
        // A service that cannot report is simply not counted.
      }
    }
    return found.size ? [...found] : ['cpu'];
  }

  /** Releases pack services in reverse order of creation (sessions are released, never torn down mid-run). */
  async dispose(logger?: NodeLogger): Promise<void> {
    await disposeAll(this.#services.splice(0), logger);
  }
}

async function disposeAll(services: PackServices[], logger: NodeLogger | undefined): Promise<void> {
  for (const s of services.reverse()) {
    try {
      await s.dispose();
    } catch (error) {
      logger?.error(`disposing services failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
