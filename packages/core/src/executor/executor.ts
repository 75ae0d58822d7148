/**
 * Runs validated API prompts against a registry, keeping results between prompts in a cache policy; each prompt's
 * run (planning, cache lookups, scheduling, events) is a PromptRun (./prompt-run.ts). `run` never rejects.
 */
import { lastPromptCache, type CachePolicy } from '../cache/policies.ts';
import type { ExecutionErrorEvent, ExecutionEventListener } from '../events.ts';
import type { ApiPrompt, HostEnvironment, NodeDefinition, NodeLogger } from '../node-api.ts';
import type { NodeRegistry } from '../registry.ts';
import { PromptRun, type ClassInfo } from './prompt-run.ts';

export interface ExecutorOptions {
  registry: NodeRegistry;
  env: HostEnvironment;
  /** Keeping policy for results across prompts; defaults to `lastPromptCache()`. */
  cache?: CachePolicy;
  /** Receives node log lines (prefixed with the node) and engine warnings; defaults to the console. */
  logger?: NodeLogger;
}

export interface RunOptions {
  promptId: string;
  extraData?: Record<string, unknown>;
  /** Node ids to execute (validated outputs or partial targets); default: every output node. */
  outputs?: readonly string[];
  signal?: AbortSignal;
  onEvent?: ExecutionEventListener;
  /**
   * Whether nodes should make step previews, and how often at most: `false` (headless runs that show none), `true`
   * (every time a node offers one; the default when `onEvent` is given), or a minimum interval per node in ms.
   */
  previews?: boolean | { minIntervalMs: number };
}

export interface RunOutcome {
  status: 'success' | 'error' | 'interrupted';
  /** UI output per node id (from runs and cache hits), as history's `outputs`. */
  outputs: Record<string, Record<string, unknown>>;
  /**
   * For history's status.messages: execution_start, execution_cached, then execution_success, execution_error or
   * execution_interrupted, each with its event data.
   */
  messages: Array<[string, Record<string, unknown>]>;
  /** Nodes whose `execute` ran, in completion order. */
  executed: string[];
  /** Nodes served from the cache (found before the run, or shared with an identical node during it). */
  cached: string[];
  error?: ExecutionErrorEvent['data'];
}

const consoleLogger: NodeLogger = {
  debug: (m) => console.debug(m),
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

/**
 * Runs prompts against a registry, keeping results between prompts in a cache policy.
 *
 * @example
 * const executor = new Executor({ registry: new NodeRegistry(pack.nodes), env });
 * const outcome = await executor.run(prompt, { promptId: 'p1', onEvent: (e) => socket.send(JSON.stringify(e)) });
 * if (outcome.status === 'error') console.error(outcome.error?.exception_message);
 */
export class Executor {
  readonly #registry: NodeRegistry;
  readonly #env: HostEnvironment;
  readonly #cache: CachePolicy;
  readonly #logger: NodeLogger;
  readonly #classInfo = new WeakMap<NodeDefinition, ClassInfo>();
  #runCount = 0;
  readonly #instance = Math.random().toString(36).slice(2, 10);

  constructor(options: ExecutorOptions) {
    this.#registry = options.registry;
    this.#env = options.env;
    this.#cache = options.cache ?? lastPromptCache();
    this.#logger = options.logger ?? consoleLogger;
  }

  /**
   * Runs one prompt to completion, failure or interrupt. Never rejects: failures come back as status 'error' with the
   * execution_error payload. Run prompts one after another; the cache is shared between them.
   */
  async run(prompt: ApiPrompt, options: RunOptions): Promise<RunOutcome> {
    this.#runCount += 1;
    const run = new PromptRun({
      registry: this.#registry,
      env: this.#env,
      cache: this.#cache,
      logger: this.#logger,
      classInfo: (d) => this.#infoOf(d),
      runNonce: `${this.#instance}.${this.#runCount}`,
      prompt,
      options,
    });
    return run.execute();
  }

  /** Drops every cached result. */
  clearCache(): void {
    this.#cache.clear();
  }

  get cacheStats(): { entries: number; bytes: number } {
    const { entries, bytes } = this.#cache.stats;
    return { entries, bytes };
  }

  #infoOf(definition: NodeDefinition): ClassInfo {
    let info = this.#classInfo.get(definition);
    if (!info) {
      const declared = new Set<string>();
      const lazy = new Set<string>();
      for (const group of [definition.inputs.required, definition.inputs.optional]) {
        for (const [name, input] of Object.entries(group ?? {})) {
          declared.add(name);
          if (input.lazy) lazy.add(name);
        }
      }
      info = { declared, lazy };
      this.#classInfo.set(definition, info);
    }
    return info;
  }
}

