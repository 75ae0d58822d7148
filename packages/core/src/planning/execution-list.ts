/**
 * Orders work and nothing else: a count of what blocks each node plus a ready list (ComfyUI's `TopologicalSort` /
 * `ExecutionList`). Whether a node is already resolved (a cache hit) is a question the caller answers; how keys are
 * computed or results kept is not this module's business.
 */
import { DependencyCycleError } from '../errors.ts';
import type { PromptGraph } from '../graph.ts';

/**
 * The inputs of a node that are not dependencies from the start (lazy inputs, followed only when the node asks), or
 * undefined when every input is.
 */
export type LazyInputsOf = (nodeId: string) => ReadonlySet<string> | undefined;

interface PendingNode {
  /** How many nodes this one still waits for. */
  blockers: number;
  /** Nodes this one was ever made to wait for (short: at most its inputs), to link each pair once. */
  waitsOn: string[];
  /** Nodes waiting for this one. */
  blocking: string[];
  /** Handed out by `takeReady` and not yet completed or returned. */
  staged: boolean;
}

/**
 * A topological dissolve of the part of a prompt that must run. Nodes become ready once nothing blocks them; a staged
 * node can be put back with new blockers (lazy inputs it asked for) and becomes ready again when those complete.
 */
export class ExecutionList {
  readonly #graph: PromptGraph;
  readonly #lazyInputsOf: LazyInputsOf;
  readonly #isResolved: (nodeId: string) => boolean;
  readonly #pending = new Map<string, PendingNode>();
  readonly #done = new Set<string>();
  #ready: string[] = [];

  /**
   * @param isResolved true for nodes whose outputs exist already (cache hits); they are never scheduled and never block.
   */
  constructor(graph: PromptGraph, lazyInputsOf: LazyInputsOf, isResolved: (nodeId: string) => boolean) {
    this.#graph = graph;
    this.#lazyInputsOf = lazyInputsOf;
    this.#isResolved = isResolved;
  }

  /** Schedules a node and every unresolved node it strongly depends on. Resolved or finished nodes are skipped. */
  addNode(nodeId: string): void {
    if (this.#pending.has(nodeId) || this.#done.has(nodeId)) return;
    const stack = [nodeId];
    const added: string[] = [];
    const linkFrom: string[] = [];
    const linkTo: string[] = [];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (this.#pending.has(id) || this.#done.has(id)) continue;
      this.#pending.set(id, { blockers: 0, waitsOn: [], blocking: [], staged: false });
      added.push(id);
      const node = this.#graph.nodes.get(id);
      if (!node) continue; // a dangling link: the node fails when it runs, naming the missing source
      const mark = stack.length;
      const lazy = this.#lazyInputsOf(id);
      for (const [name, input] of node.inputs) {
        if (input.kind !== 'link' || lazy?.has(name)) continue;
        if (this.#done.has(input.from) || this.#isResolved(input.from)) continue;
        if (!this.#graph.nodes.has(input.from)) continue;
        stack.push(input.from);
        linkFrom.push(input.from);
        linkTo.push(id);
      }
      // Reversed so the stack visits sources in input order, which makes the run order follow the prompt's wiring.
      for (let i = mark, j = stack.length - 1; i < j; i++, j--) [stack[i], stack[j]] = [stack[j]!, stack[i]!];
    }
    for (let i = 0; i < linkFrom.length; i++) this.#link(linkFrom[i]!, linkTo[i]!);
    // Readiness is decided after all links exist, so no node is offered before its blockers.
    for (const id of added) if (this.#pending.get(id)!.blockers === 0) this.#ready.push(id);
  }

  /**
   * Makes `toNodeId` wait for `fromNodeId` (a lazy input it now needs), scheduling the source if needed.
   * Returns false when the source has no work left (finished or resolved), so there is nothing to wait for.
   */
  addStrongLink(fromNodeId: string, toNodeId: string): boolean {
    if (this.#done.has(fromNodeId) || this.#isResolved(fromNodeId)) return false;
    if (!this.#graph.nodes.has(fromNodeId)) return false;
    if (!this.#pending.has(fromNodeId)) this.addNode(fromNodeId);
    this.#link(fromNodeId, toNodeId);
    return true;
  }

  /** Returns a staged node to the pending set; it becomes ready again once its (new) blockers complete. */
  requeue(nodeId: string): void {
    const entry = this.#pending.get(nodeId);
    if (!entry) return;
    entry.staged = false;
    if (entry.blockers === 0) this.#ready.push(nodeId);
  }

  /** Hands out every node that nothing blocks; each one is staged until `complete` or `requeue`. */
  takeReady(): string[] {
    const ready = this.#ready;
    this.#ready = [];
    const out: string[] = [];
    for (const id of ready) {
      const entry = this.#pending.get(id);
      if (!entry || entry.staged || entry.blockers > 0) continue;
      entry.staged = true;
      out.push(id);
    }
    return out;
  }

  /** Marks a node finished and unblocks what waited for it. */
  complete(nodeId: string): void {
    const entry = this.#pending.get(nodeId);
    this.#pending.delete(nodeId);
    this.#done.add(nodeId);
    if (!entry) return;
    for (const blocked of entry.blocking) {
      const other = this.#pending.get(blocked);
      if (!other) continue;
      other.blockers -= 1;
      if (other.blockers === 0 && !other.staged) this.#ready.push(blocked);
    }
  }

  isDone(nodeId: string): boolean {
    return this.#done.has(nodeId);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * When nothing is ready or staged yet work is pending, the pending nodes wait on each other: returns the ids of one
   * such cycle (for the error message), or undefined when progress is still possible.
   */
  findCycle(): string[] | undefined {
    for (const entry of this.#pending.values()) if (entry.staged || entry.blockers === 0) return undefined;
    // One blocker per pending node, found from the blocking lists (only on this rare path).
    const blockerOf = new Map<string, string>();
    for (const [id, entry] of this.#pending) for (const blocked of entry.blocking) blockerOf.set(blocked, id);
    // Every pending node has a pending blocker, so walking blockers must revisit a node.
    const start = this.#pending.keys().next().value;
    if (start === undefined) return undefined;
    const order: string[] = [];
    const seenAt = new Map<string, number>();
    let current: string = start;
    while (!seenAt.has(current)) {
      seenAt.set(current, order.length);
      order.push(current);
      current = blockerOf.get(current)!;
    }
    return order.slice(seenAt.get(current)!);
  }

  /** Throws a DependencyCycleError when the pending nodes can never become ready. */
  assertNoCycle(): void {
    const cycle = this.findCycle();
    if (cycle) throw new DependencyCycleError(cycle);
  }

  #link(from: string, to: string): void {
    const source = this.#pending.get(from);
    const target = this.#pending.get(to);
    if (!source || !target || target.waitsOn.includes(from)) return;
    target.waitsOn.push(from);
    source.blocking.push(to);
    target.blockers += 1;
  }
}
