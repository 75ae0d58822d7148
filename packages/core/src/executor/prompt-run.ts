/**
 * One prompt's run: plans the nodes that must run (../planning), looks results up by structural key (../cache), runs
 * the rest as soon as their inputs are ready, and reports ComfyUI's events. Lives only for the duration of `execute`.
 */
import { collectFingerprints, computeCacheKeys, hiddenInputs } from '../cache/cache-keys.ts';
import { createCacheEntry, type CacheEntry, type CachePolicy } from '../cache/policies.ts';
import {
  BadInputError,
  DependencyCycleError,
  EngineError,
  InterruptedError,
  NodeExecutionError,
  UnknownNodeTypeError,
  toErrorPayload,
} from '../errors.ts';
import type { ExecutionErrorEvent, ExecutionEvent, ExecutionEventListener, ProgressStateEvent } from '../events.ts';
import { buildGraph, type GraphNode, type PromptGraph } from '../graph.ts';
import type {
  ApiPrompt,
  ExecutionContext,
  HostEnvironment,
  NodeDefinition,
  NodeInputs,
  NodeLogger,
  NodeResult,
  PreviewImage,
} from '../node-api.ts';
import { ExecutionList } from '../planning/execution-list.ts';
import { collectAncestors, resolveTargets } from '../planning/targets.ts';
import type { NodeRegistry } from '../registry.ts';
import { describeInputs } from './describe-value.ts';
import { NodeContext, type ContextHost } from './node-context.ts';
import { inputsForRuns, mergeResults, type ListInputs } from './list-mapping.ts';
import type { RunOptions, RunOutcome } from './executor.ts';

/** Facts about a node class the run loop asks for on every node, computed once per definition. */
export interface ClassInfo {
  declared: Set<string>;
  lazy: Set<string>;
}

/**
 * The node ComfyUI's UI shows for a node id. ComfyUI reports a prompt node's own id here, flattened subgraph ids such
 * as `12:5` included (the front end resolves the path itself); only nodes created during execution map elsewhere,
 * and this engine creates none.
 */
function displayNodeOf(nodeId: string): string {
  return nodeId;
}

/** What the Executor hands each run: its registry, environment, cache and logger, and the prompt. */
export interface RunSetup {
  registry: NodeRegistry;
  env: HostEnvironment;
  cache: CachePolicy;
  logger: NodeLogger;
  classInfo: (definition: NodeDefinition) => ClassInfo;
  runNonce: string;
  prompt: ApiPrompt;
  options: RunOptions;
}

type NodeStateData = ProgressStateEvent['data']['nodes'][string];

/** The state of one prompt run. Lives only for the duration of `execute`. */
export class PromptRun implements ContextHost {
  readonly #setup: RunSetup;
  readonly #promptId: string;
  readonly #extraData: Record<string, unknown>;
  readonly #listener: ExecutionEventListener | undefined;
  readonly #controller = new AbortController();
  readonly #messages: Array<[string, Record<string, unknown>]> = [];
  readonly #uiOutputs: Record<string, Record<string, unknown>> = {};
  readonly #executed: string[] = [];
  readonly #cached: string[] = [];
  /** Nodes whose results were cached when the prompt started: ComfyUI's `current_outputs`. */
  #cachedAtStart: readonly string[] = [];
  /** Results this prompt holds on to, whatever the policy keeps: cache hits and finished nodes. */
  readonly #results = new Map<string, CacheEntry>();
  /** Results of this prompt by key, finished or in flight, so identical nodes run once. */
  readonly #byKey = new Map<string, CacheEntry>();
  /** Keys of nodes in flight, with their node id; an identical node waits for the owner instead of running. */
  readonly #keyOwners = new Map<string, string>();
  /** Nodes waiting on an owner's result, by key (made only when someone waits). */
  readonly #keyWaiters = new Map<string, Array<(entry: CacheEntry | undefined) => void>>();
  readonly #announced = new Set<string>();
  readonly #currentInputs = new Map<string, ListInputs>();
  /** Nodes in flight, for progress_state. */
  readonly #active = new Map<string, NodeStateData>();
  /** Running nodes whose 'running' state has not been sent yet. */
  readonly #unsent = new Set<string>();
  #graph: PromptGraph = { nodes: new Map() };
  #keys = new Map<string, string>();
  /** Nodes whose keys no later prompt can produce (non-idempotent, NaN fingerprint, or downstream of one). */
  readonly #volatile = new Set<string>();
  #list: ExecutionList | undefined;
  #failure: { nodeId: string; error: unknown } | undefined;
  #running = 0;
  #wake: (() => void) | undefined;
  #detachSignal: (() => void) | undefined;
  /** Mirrors the run's signal (read per node; cheaper than the getter). */
  #stopped = false;
  /** Minimum ms between a node's previews; undefined when this run makes none. */
  readonly #previewIntervalMs: number | undefined;
  readonly #lastPreviewAt = new Map<string, number>();

  constructor(setup: RunSetup) {
    this.#setup = setup;
    this.#promptId = String(setup.options.promptId);
    const extra = setup.options.extraData;
    this.#extraData = extra && typeof extra === 'object' ? extra : {};
    this.#listener = setup.options.onEvent;
    const previews = setup.options.previews ?? this.#listener !== undefined;
    this.#previewIntervalMs = previews === false ? undefined : previews === true ? 0 : Math.max(0, previews.minIntervalMs);
    this.#controller.signal.addEventListener('abort', () => (this.#stopped = true), { once: true });
    const outer = setup.options.signal;
    if (outer) {
      if (outer.aborted) this.#controller.abort(outer.reason);
      else {
        const onAbort = () => this.#controller.abort(outer.reason);
        outer.addEventListener('abort', onAbort, { once: true });
        this.#detachSignal = () => outer.removeEventListener('abort', onAbort);
      }
    }
  }

  async execute(): Promise<RunOutcome> {
    const { cache, prompt, registry } = this.#setup;
    this.#message('execution_start', { prompt_id: this.#promptId, timestamp: Date.now() });
    let keysReady = false;
    try {
      cache.beginPrompt();
      this.#graph = buildGraph(prompt && typeof prompt === 'object' ? prompt : {});
      const targets = resolveTargets(this.#graph, registry, this.#setup.options.outputs);
      const needed = collectAncestors(this.#graph, targets);

      const fingerprints = await collectFingerprints(this.#graph, registry, this.#graph.nodes.keys(), {
        env: this.#setup.env,
        prompt,
        extraData: this.#extraData,
        logger: this.#setup.logger,
      });
      this.#keys = computeCacheKeys(
        { graph: this.#graph, registry, fingerprints, runNonce: this.#setup.runNonce, volatile: this.#volatile },
        this.#graph.nodes.keys(),
      );
      keysReady = true;

      for (const id of this.#graph.nodes.keys()) {
        if (!needed.has(id)) continue;
        const key = this.#keys.get(id);
        const entry = key === undefined ? undefined : cache.get(key);
        if (entry) {
          this.#results.set(id, entry);
          this.#cached.push(id);
        }
      }
      this.#cachedAtStart = [...this.#cached];
      this.#message('execution_cached', { nodes: [...this.#cached], prompt_id: this.#promptId, timestamp: Date.now() });

      const list = new ExecutionList(
        this.#graph,
        (id) => this.#lazyInputs(id),
        (id) => this.#results.has(id),
      );
      this.#list = list;
      for (const target of targets) {
        const hit = this.#results.get(target);
        if (hit) this.#reportUi(target, hit);
        else list.addNode(target);
      }
      await this.#loop(list);
    } catch (error) {
      this.#recordFailure('', error);
    } finally {
      this.#detachSignal?.();
      if (keysReady) {
        try {
          cache.endPrompt(new Set(this.#keys.values()));
        } catch (error) {
          this.#setup.logger.warn(`Cache policy failed at the end of prompt ${this.#promptId}: ${String(error)}`);
        }
      }
    }
    return this.#finish();
  }

  async #loop(list: ExecutionList): Promise<void> {
    let lastYield = performance.now();
    let stalls = 0;
    for (;;) {
      let started = 0;
      if (!this.#failure) {
        for (const id of list.takeReady()) {
          if (this.#failure) break;
          if (this.#stopped) {
            this.#recordFailure(id, new InterruptedError());
            break;
          }
          started += 1;
          this.#start(id);
        }
      }
      if (this.#running === 0) {
        if (this.#failure || list.pendingCount === 0) return;
        // Sync nodes finish inside #start and may have made others ready; only a pass that started nothing can
        // mean the pending nodes wait on each other.
        if (started === 0) {
          const cycle = list.findCycle();
          if (cycle) {
            this.#recordFailure(cycle[0]!, new DependencyCycleError(cycle));
            return;
          }
          stalls += 1;
          if (stalls > 1) throw new EngineError(`Scheduler stalled with ${list.pendingCount} nodes pending`);
        } else {
          stalls = 0;
        }
      } else {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
      // Synchronous nodes never yield; give the event loop a turn now and then so an interrupt can arrive.
      if (performance.now() - lastYield > YIELD_AFTER_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
    }
  }

  /** Runs a node; synchronous nodes complete before this returns, async ones report back through #settled. */
  #start(id: string): void {
    this.#running += 1;
    let pending: void | Promise<void>;
    try {
      pending = this.#runNode(id);
    } catch (error) {
      this.#nodeFailed(id, error);
      return;
    }
    if (pending instanceof Promise) pending.then(() => this.#settled(), (error: unknown) => this.#nodeFailed(id, error));
    else this.#settled();
  }

  #nodeFailed(id: string, error: unknown): void {
    this.#releaseKey(id, undefined);
    const classType = this.#graph.nodes.get(id)?.classType ?? '';
    this.#recordFailure(id, error instanceof EngineError ? error : new NodeExecutionError(id, classType, error));
    this.#settled();
  }

  #settled(): void {
    this.#running -= 1;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #runNode(id: string): void | Promise<void> {
    const node = this.#graph.nodes.get(id)!;
    const definition = this.#setup.registry.get(node.classType);
    if (!definition) throw new UnknownNodeTypeError(id, node.classType);
    const key = this.#keys.get(id);
    if (key !== undefined && !this.#announced.has(id)) {
      // An identical node of this prompt (same key) ran or is running: share its result.
      const shared = this.#byKey.get(key);
      if (shared) return this.#useCached(id, shared);
      const owner = this.#keyOwners.get(key);
      if (owner !== undefined && owner !== id) {
        let waiters = this.#keyWaiters.get(key);
        if (!waiters) this.#keyWaiters.set(key, (waiters = []));
        const list = waiters;
        return new Promise<CacheEntry | undefined>((resolve) => list.push(resolve)).then((entry) => {
          if (entry) return this.#useCached(id, entry);
          if (this.#failure) throw new InterruptedError();
          return this.#runNode(id);
        });
      }
    }
    return this.#prepare(id, node, definition, key);
  }

  /** Announces the node, gathers its inputs and settles its lazy inputs; then runs it. */
  #prepare(id: string, node: GraphNode, definition: NodeDefinition, key: string | undefined): void | Promise<void> {
    if (this.#stopped) throw new InterruptedError();
    if (!this.#announced.has(id)) {
      this.#announced.add(id);
      this.#emit({ type: 'executing', data: { node: id, display_node: displayNodeOf(id), prompt_id: this.#promptId } });
      // Reported once the node turns out to take time (goes async or reports progress); a node that finishes
      // synchronously gets just its 'finished' state, which a listener could not tell apart anyway.
      this.#unsent.add(id);
    }
    if (key !== undefined && !this.#keyOwners.has(key)) this.#keyOwners.set(key, id);
    const inputs = this.#gatherInputs(id, node, definition);
    this.#currentInputs.set(id, inputs);
    const info = this.#setup.classInfo(definition);
    if (info.lazy.size === 0) return this.#execute(id, node, definition, key, inputs);
    const needs = this.#lazyNeeds(definition, node, info, inputs, id);
    if (needs instanceof Promise) {
      this.#flushState(id);
      return needs.then((names) => this.#afterLazy(id, node, definition, key, inputs, names));
    }
    return this.#afterLazy(id, node, definition, key, inputs, needs);
  }

  #afterLazy(
    id: string,
    node: GraphNode,
    definition: NodeDefinition,
    key: string | undefined,
    inputs: ListInputs,
    needs: ReadonlySet<string>,
  ): void | Promise<void> {
    const list = this.#list!;
    let waiting = false;
    for (const name of needs) {
      const input = node.inputs.get(name);
      if (input?.kind === 'link' && !this.#results.has(input.from) && list.addStrongLink(input.from, id)) waiting = true;
    }
    if (!waiting) return this.#execute(id, node, definition, key, inputs);
    // Back to pending until the requested branches finish; identical nodes must not wait on this one meanwhile.
    this.#releaseKey(id, undefined);
    list.requeue(id);
  }

  /** Calls execute once per list element (or once with whole lists); continues asynchronously only if a call does. */
  #execute(
    id: string,
    node: GraphNode,
    definition: NodeDefinition,
    key: string | undefined,
    inputs: ListInputs,
  ): void | Promise<void> {
    const context = new NodeContext(this, id, node.classType);
    const hidden = hiddenInputs(definition, id, this.#setup.prompt, this.#extraData);
    const runs = inputsForRuns(definition, inputs);
    const results: NodeResult[] = [];
    for (let i = 0; i < runs.length; i++) {
      const result = this.#call(definition, runs[i]!, hidden, context);
      if (isPromiseLike(result)) {
        this.#flushState(id);
        return (async () => {
          results.push(await result);
          for (let j = i + 1; j < runs.length; j++) results.push(await this.#call(definition, runs[j]!, hidden, context));
          this.#complete(id, definition, key, results);
        })();
      }
      results.push(result);
    }
    this.#complete(id, definition, key, results);
  }

  #call(
    definition: NodeDefinition,
    runInputs: NodeInputs,
    hidden: NodeInputs,
    context: ExecutionContext,
  ): NodeResult | Promise<NodeResult> {
    if (this.#stopped) throw new InterruptedError();
    for (const name in hidden) runInputs[name] = hidden[name];
    // Errors are wrapped with the node's name where they are recorded (#nodeFailed), not here: no closure per call.
    return definition.execute(runInputs, context);
  }

  #complete(id: string, definition: NodeDefinition, key: string | undefined, results: readonly NodeResult[]): void {
    const { outputs, ui } = mergeResults(definition, results);
    const entry = createCacheEntry(outputs, ui);
    this.#results.set(id, entry);
    if (key !== undefined) {
      this.#byKey.set(key, entry);
      // A volatile result could only ever be found by this prompt, which pins it anyway.
      if (!this.#volatile.has(id)) this.#setup.cache.set(key, entry);
    }
    this.#releaseKey(id, entry);
    this.#currentInputs.delete(id);
    this.#executed.push(id);
    this.#reportUi(id, entry);
    this.#setState(id, 'finished');
    this.#list!.complete(id);
  }

  /** Gives up the node's key: identical nodes waiting on it get the entry, or undefined (run it yourselves). */
  #releaseKey(id: string, entry: CacheEntry | undefined): void {
    const key = this.#keys.get(id);
    if (key === undefined || this.#keyOwners.get(key) !== id) return;
    this.#keyOwners.delete(key);
    const waiters = this.#keyWaiters.get(key);
    if (!waiters) return;
    this.#keyWaiters.delete(key);
    for (const resolve of waiters) resolve(entry);
  }

  /** A node served from a result already made: no `executing`, but UI output is reported like a run's. */
  #useCached(id: string, entry: CacheEntry): void {
    this.#results.set(id, entry);
    this.#cached.push(id);
    this.#reportUi(id, entry);
    this.#list!.complete(id);
  }

  #reportUi(id: string, entry: CacheEntry): void {
    if (!entry.ui || Object.keys(entry.ui).length === 0) return;
    this.#uiOutputs[id] = entry.ui;
    this.#emit({
      type: 'executed',
      data: { node: id, display_node: displayNodeOf(id), output: entry.ui, prompt_id: this.#promptId },
    });
  }

  #lazyInputs(id: string): ReadonlySet<string> | undefined {
    const node = this.#graph.nodes.get(id);
    const definition = node && this.#setup.registry.get(node.classType);
    const lazy = definition && this.#setup.classInfo(definition).lazy;
    return lazy && lazy.size > 0 ? lazy : undefined;
  }

  /** Inputs as lists: constants wrap as one-element lists, links give the source's output list. */
  #gatherInputs(id: string, node: GraphNode, definition: NodeDefinition): ListInputs {
    const info = this.#setup.classInfo(definition);
    const inputs: Record<string, readonly unknown[]> = {};
    for (const name of node.inputs.keys()) {
      const input = node.inputs.get(name)!;
      if (input.kind === 'constant') {
        // Undeclared constants (stale widget values) are dropped, as in ComfyUI.
        if (info.declared.has(name)) inputs[name] = [input.value];
        continue;
      }
      if (!this.#graph.nodes.has(input.from)) {
        throw new BadInputError(id, name, `links to node ${input.from}, which is not in the prompt`);
      }
      const source = this.#results.get(input.from);
      if (!source) continue; // a lazy input that has not been evaluated
      const values = source.outputs[input.slot];
      if (!values) throw new BadInputError(id, name, `node ${input.from} has no output ${input.slot}`);
      inputs[name] = values;
    }
    return inputs;
  }

  /** The lazy inputs the node still needs: its `checkLazy` answer per run, or every missing lazy input without one. */
  #lazyNeeds(
    definition: NodeDefinition,
    node: GraphNode,
    info: ClassInfo,
    inputs: ListInputs,
    id: string,
  ): Set<string> | Promise<Set<string>> {
    const missing = new Set<string>();
    for (const name of info.lazy) {
      const input = node.inputs.get(name);
      if (input?.kind === 'link' && !this.#results.has(input.from)) missing.add(name);
    }
    if (missing.size === 0 || !definition.checkLazy) return missing;
    const checkLazy = definition.checkLazy.bind(definition);
    const needs = new Set<string>();
    const add = (answer: readonly string[] | undefined) => {
      for (const name of answer ?? []) if (missing.has(name)) needs.add(name);
    };
    const hidden = hiddenInputs(definition, id, this.#setup.prompt, this.#extraData);
    const runs = inputsForRuns(definition, inputs);
    for (let i = 0; i < runs.length; i++) {
      const answer = checkLazy(Object.assign(runs[i]!, hidden));
      if (isPromiseLike(answer)) {
        return (async () => {
          add(await answer);
          for (let j = i + 1; j < runs.length; j++) add(await checkLazy(Object.assign(runs[j]!, hidden)));
          return needs;
        })();
      }
      add(answer);
    }
    return needs;
  }

  /** Called by a node's context: progress (throws once interrupted). */
  reportProgress(id: string, value: number, max: number): void {
    if (this.#controller.signal.aborted) throw new InterruptedError();
    this.#emit({ type: 'progress', data: { value, max, prompt_id: this.#promptId, node: id } });
    this.#setState(id, 'running', value, max);
  }

  /** Called by a node's context: a preview image for the UI. */
  reportPreview(id: string, image: PreviewImage): void {
    this.#lastPreviewAt.set(id, performance.now());
    this.#emit({
      type: 'preview',
      data: {
        prompt_id: this.#promptId,
        node_id: id,
        display_node_id: displayNodeOf(id),
        parent_node_id: null,
        real_node_id: id,
        format: image.format,
        bytes: image.bytes,
      },
    });
  }

  /** Called by a node's context before it makes a preview. */
  previewWanted(id: string): boolean {
    if (this.#previewIntervalMs === undefined) return false;
    const last = this.#lastPreviewAt.get(id);
    return last === undefined || performance.now() - last >= this.#previewIntervalMs;
  }

  get promptId(): string {
    return this.#promptId;
  }
  get prompt(): ApiPrompt {
    return this.#setup.prompt;
  }
  get extraData(): Record<string, unknown> {
    return this.#extraData;
  }
  get env(): HostEnvironment {
    return this.#setup.env;
  }
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  get logger(): NodeLogger {
    return this.#setup.logger;
  }
  displayNodeOf(nodeId: string): string {
    return displayNodeOf(nodeId);
  }

  /**
   * Sends progress_state. ComfyUI lists every node that ever started; this lists the nodes in flight plus the one that
   * changed, which is what clients draw, and keeps the cost per event independent of the prompt's size.
   */
  #setState(id: string, state: NodeStateData['state'], value?: number, max?: number): void {
    const previous = this.#active.get(id);
    const newMax = max ?? previous?.max ?? 1;
    const data: NodeStateData = {
      value: state === 'finished' ? newMax : (value ?? previous?.value ?? 0),
      max: newMax,
      state,
      node_id: id,
      display_node_id: displayNodeOf(id),
      parent_node_id: null,
      real_node_id: id,
      prompt_id: this.#promptId,
    };
    // Entries are replaced, never mutated, so an event a listener keeps stays as it was sent.
    if (state === 'running') this.#active.set(id, data);
    else this.#active.delete(id);
    this.#unsent.delete(id);
    if (!this.#listener) return;
    let nodes: Record<string, NodeStateData>;
    if (this.#active.size === 0) {
      // The usual case (one node changing, none other in flight); a literal is the cheapest record with an id key.
      nodes = { [id]: data };
    } else {
      nodes = {};
      for (const entry of this.#active.values()) nodes[entry.node_id] = entry;
      if (state !== 'running') nodes[id] = data;
    }
    this.#emit({ type: 'progress_state', data: { prompt_id: this.#promptId, nodes } });
  }

  /** Sends a running state that was held back. */
  #flushState(id: string): void {
    if (this.#unsent.has(id)) this.#setState(id, 'running', 0, 1);
  }

  #recordFailure(nodeId: string, error: unknown): void {
    if (this.#failure) return;
    this.#failure = { nodeId, error };
    if (nodeId && this.#announced.has(nodeId)) this.#setState(nodeId, 'error');
    // Nodes still in flight see the signal and stop at their next progress call.
    this.#controller.abort(new InterruptedError());
  }

  #isInterrupt(failure: unknown): boolean {
    const error = failure instanceof NodeExecutionError ? failure.cause : failure;
    if (error instanceof InterruptedError) return true;
    const outer = this.#setup.options.signal;
    return !!outer?.aborted && error instanceof Error && (error.name === 'AbortError' || error === outer.reason);
  }

  #finish(): RunOutcome {
    const failure = this.#failure;
    const executedSoFar = [...this.#cached, ...this.#executed];
    let status: RunOutcome['status'] = 'success';
    let errorData: ExecutionErrorEvent['data'] | undefined;
    if (!failure) {
      this.#message('execution_success', { prompt_id: this.#promptId, timestamp: Date.now() });
    } else {
      const nodeType = this.#graph.nodes.get(failure.nodeId)?.classType ?? '';
      if (this.#isInterrupt(failure.error)) {
        status = 'interrupted';
        this.#message('execution_interrupted', {
          prompt_id: this.#promptId,
          node_id: failure.nodeId,
          node_type: nodeType,
          executed: executedSoFar,
          timestamp: Date.now(),
        });
      } else {
        status = 'error';
        errorData = this.#errorData(failure.nodeId, nodeType, failure.error, executedSoFar);
        this.#message('execution_error', errorData);
      }
    }
    this.#emit({ type: 'executing', data: { node: null, prompt_id: this.#promptId } });
    const outcome: RunOutcome = {
      status,
      outputs: this.#uiOutputs,
      messages: this.#messages,
      executed: this.#executed,
      cached: this.#cached,
    };
    if (errorData) outcome.error = errorData;
    return outcome;
  }

  #errorData(nodeId: string, nodeType: string, error: unknown, executed: string[]): ExecutionErrorEvent['data'] {
    // The node's own exception gives type, message and traceback; the node is named by node_id and node_type.
    const cause = error instanceof NodeExecutionError ? error.cause : error;
    const payload = toErrorPayload(cause);
    const inputs = this.#currentInputs.get(nodeId);
    return {
      prompt_id: this.#promptId,
      node_id: nodeId,
      node_type: nodeType,
      executed,
      exception_message: payload.message,
      exception_type: payload.type,
      traceback: payload.traceback,
      current_inputs: inputs ? describeInputs(inputs) : {},
      current_outputs: [...this.#cachedAtStart],
      timestamp: Date.now(),
    };
  }

  /** Records a history message and emits the same event. */
  #message(type: 'execution_start' | 'execution_cached' | 'execution_success' | 'execution_error' | 'execution_interrupted', data: Record<string, unknown>): void {
    this.#messages.push([type, data]);
    this.#emit({ type, data } as ExecutionEvent);
  }

  #emit(event: ExecutionEvent): void {
    if (!this.#listener) return;
    try {
      this.#listener(event);
    } catch (error) {
      // A listener's bug must not stop the prompt.
      this.#setup.logger.warn(`Event listener failed on '${event.type}': ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Node code may return any thenable (another realm's Promise, a library's), not only this realm's Promise. */
function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function');
}

/** Synchronous nodes run back to back; after this long the loop lets other events (an interrupt) in. */
const YIELD_AFTER_MS = 10;
