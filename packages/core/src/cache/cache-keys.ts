/**
 * How a cache key is computed, kept apart from how results are kept (see ./policies). A key is structural: it hashes a
 * node's class, its fingerprint, its constant inputs sorted by name, and for each link the source's key plus the output
 * slot. Node ids stay out of it, so identical subgraphs share entries and a changed seed invalidates only what follows.
 */
import type { GraphNode, PromptGraph } from '../graph.ts';
import type { ApiPrompt, HostEnvironment, NodeDefinition, NodeInputs, NodeLogger } from '../node-api.ts';
import type { NodeRegistry } from '../registry.ts';
import { Hasher128, canonicalize, type CanonicalForm, type TextSink } from './hash.ts';

/** A fingerprint in canonical form, or null when computing it failed (treated like NaN: always re-run). */
export type FingerprintForm = CanonicalForm | null;

export interface FingerprintContext {
  env: HostEnvironment;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  logger?: NodeLogger;
}

const uniqueIdClasses = new WeakMap<NodeDefinition, boolean>();

/** True when a node class asks for its own id (UNIQUE_ID), so its results depend on which node it is. */
export function takesUniqueId(definition: NodeDefinition): boolean {
  let answer = uniqueIdClasses.get(definition);
  if (answer === undefined) {
    answer = Object.values(definition.inputs.hidden ?? {}).includes('UNIQUE_ID');
    uniqueIdClasses.set(definition, answer);
  }
  return answer;
}

/** Input names in sorted order, without allocating for the common one- and two-input nodes. */
function sortedNames(inputs: ReadonlyMap<string, unknown>): Iterable<string> {
  if (inputs.size < 2) return inputs.keys();
  if (inputs.size === 2) {
    const it = inputs.keys();
    const first = it.next().value!;
    const second = it.next().value!;
    return first < second ? [first, second] : [second, first];
  }
  return [...inputs.keys()].sort();
}

const NO_INPUTS: NodeInputs = Object.freeze({});

/** Hidden input values (a shared empty object when there are none), as ComfyUI passes them: the prompt, extra_pnginfo (when sent) and the node's own id. */
export function hiddenInputs(
  definition: NodeDefinition,
  nodeId: string,
  prompt: ApiPrompt,
  extraData: Record<string, unknown>,
): NodeInputs {
  const hidden = definition.inputs.hidden;
  if (!hidden) return NO_INPUTS;
  const out: NodeInputs = {};
  for (const [name, kind] of Object.entries(hidden)) {
    if (kind === 'PROMPT') out[name] = prompt;
    else if (kind === 'UNIQUE_ID') out[name] = nodeId;
    else if (kind === 'EXTRA_PNGINFO' && 'extra_pnginfo' in extraData) out[name] = extraData['extra_pnginfo'];
  }
  return out;
}

/**
 * Calls `fingerprint` (ComfyUI's IS_CHANGED) for the given nodes whose class declares one, with their constant and
 * hidden inputs. A fingerprint that throws is logged and counts as NaN, as in ComfyUI.
 */
export async function collectFingerprints(
  graph: PromptGraph,
  registry: NodeRegistry,
  nodeIds: Iterable<string>,
  context: FingerprintContext,
): Promise<Map<string, FingerprintForm>> {
  const forms = new Map<string, FingerprintForm>();
  const pending: Array<Promise<void>> = [];
  const fail = (id: string, error: unknown) => {
    context.logger?.warn(`Fingerprint of node ${id} failed, it will re-run: ${error instanceof Error ? error.message : String(error)}`);
    forms.set(id, null);
  };
  for (const id of nodeIds) {
    const node = graph.nodes.get(id);
    const definition = node && registry.get(node.classType);
    if (!node || !definition?.fingerprint) continue;
    const inputs: NodeInputs = { ...hiddenInputs(definition, id, context.prompt, context.extraData) };
    for (const [name, input] of node.inputs) if (input.kind === 'constant') inputs[name] = input.value;
    try {
      const value = definition.fingerprint(inputs, context.env);
      if (value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function')) {
        pending.push(Promise.resolve(value).then((v) => void forms.set(id, canonicalize(v)), (e: unknown) => fail(id, e)));
      } else {
        forms.set(id, canonicalize(value));
      }
    } catch (error) {
      fail(id, error);
    }
  }
  if (pending.length > 0) await Promise.all(pending);
  return forms;
}

export interface CacheKeyOptions {
  graph: PromptGraph;
  registry: NodeRegistry;
  fingerprints: ReadonlyMap<string, FingerprintForm>;
  /**
   * Unique per prompt run. Mixed into the keys of nodes that must never match a stored entry: non-idempotent nodes and
   * nodes whose fingerprint or constants never equal themselves.
   */
  runNonce: string;
  /**
   * Filled with the nodes whose key includes the nonce, directly or through a source: their results can never be found
   * by a later prompt, so a policy need not keep them.
   */
  volatile?: Set<string>;
}

/**
 * Keys for the given nodes and everything they link to. Nodes in a dependency cycle (and nodes that depend on one) get
 * no key; planning reports the cycle. Iterative, so long chains cannot overflow the stack.
 */
export function computeCacheKeys(options: CacheKeyOptions, roots: Iterable<string>): Map<string, string> {
  const { graph } = options;
  const keys = new Map<string, string>();
  const failed = new Set<string>();
  const hasher = new Hasher128();
  const onPath = new Set<string>();
  const inCycle = new Set<string>();
  for (const root of roots) {
    const rootNode = graph.nodes.get(root);
    if (!rootNode || keys.has(root) || failed.has(root)) continue;
    // Fast path: prompts mostly list sources first, so every source often has its key already.
    if (sourcesSettled(rootNode, keys, graph) && !failedSource(rootNode, failed)) {
      settle(root, rootNode);
      continue;
    }
    const stack = [root];
    while (stack.length > 0) {
      const id = stack[stack.length - 1]!;
      if (keys.has(id) || failed.has(id)) {
        stack.pop();
        continue;
      }
      const node = graph.nodes.get(id)!;
      if (!onPath.has(id)) {
        // First visit: queue the sources still lacking a key.
        onPath.add(id);
        for (const input of node.inputs.values()) {
          if (input.kind !== 'link' || !graph.nodes.has(input.from)) continue;
          if (keys.has(input.from) || failed.has(input.from)) continue;
          if (onPath.has(input.from)) inCycle.add(id);
          else stack.push(input.from);
        }
        continue;
      }
      // Second visit: every source is settled.
      stack.pop();
      onPath.delete(id);
      let blocked = inCycle.has(id);
      if (!blocked) {
        for (const input of node.inputs.values()) {
          if (input.kind === 'link' && failed.has(input.from)) {
            blocked = true;
            break;
          }
        }
      }
      if (blocked) failed.add(id);
      else settle(id, node);
    }
  }
  return keys;

  function settle(id: string, node: GraphNode): void {
    writeSignature(options, id, keys, hasher);
    keys.set(id, hasher.digest());
    const volatile = options.volatile;
    if (volatile && !volatile.has(id)) {
      for (const input of node.inputs.values()) {
        if (input.kind === 'link' && volatile.has(input.from)) {
          volatile.add(id);
          break;
        }
      }
    }
  }
}

/** True when every linked source that exists has a key. */
function sourcesSettled(node: GraphNode, keys: ReadonlyMap<string, string>, graph: PromptGraph): boolean {
  for (const input of node.inputs.values()) {
    if (input.kind === 'link' && !keys.has(input.from) && graph.nodes.has(input.from)) return false;
  }
  return true;
}

function failedSource(node: GraphNode, failed: ReadonlySet<string>): boolean {
  if (failed.size === 0) return false;
  for (const input of node.inputs.values()) if (input.kind === 'link' && failed.has(input.from)) return true;
  return false;
}

/**
 * The text a node's key hashes. Sources appear only by their own keys and the output slot, never by node id.
 * Exposed for tests and debugging.
 */
export function nodeSignature(options: CacheKeyOptions, nodeId: string, keys: ReadonlyMap<string, string>): string {
  const text = { value: '', update(piece: string) { this.value += piece; } };
  writeSignature(options, nodeId, keys, text);
  return text.value;
}

/** Writes the signature piece by piece, so the hasher never needs the whole text. */
function writeSignature(options: CacheKeyOptions, nodeId: string, keys: ReadonlyMap<string, string>, out: TextSink): void {
  const node = options.graph.nodes.get(nodeId)!;
  const definition = options.registry.get(node.classType);
  // Strings are length-prefixed (`5:hello`), which keeps the text unambiguous without escaping.
  out.update(String(node.classType.length));
  out.update(':');
  out.update(node.classType);
  let unstable = false;
  if (definition?.fingerprint) {
    const form = options.fingerprints.get(nodeId);
    if (!form || form.unstable) unstable = true;
    else out.update(`|fp:${form.text}`);
  }
  if (definition && takesUniqueId(definition)) out.update(`|id:${JSON.stringify(nodeId)}`);
  for (const name of sortedNames(node.inputs)) {
    const input = node.inputs.get(name)!;
    // Separate pieces rather than one template: the hasher then reads flat strings, with no concatenation.
    out.update('|');
    out.update(String(name.length));
    out.update(':');
    out.update(name);
    out.update('=');
    if (input.kind === 'link') {
      out.update('@');
      out.update(keys.get(input.from) ?? `missing:${JSON.stringify(input.from)}`);
      out.update('#');
      out.update(String(input.slot));
      continue;
    }
    const value = input.value;
    // Scalars are most constants; skip the general walk for them. (Canonical strings are JSON-quoted, never `s`.)
    if (typeof value === 'string') {
      out.update(`s${value.length}:`);
      out.update(value);
    } else if (typeof value === 'number' && value === value && !Object.is(value, -0)) out.update(String(value));
    else if (typeof value === 'boolean') out.update(value ? 'true' : 'false');
    else {
      const form = canonicalize(value);
      if (form.unstable) unstable = true;
      out.update(form.text);
    }
  }
  // A result that must not be reused gets a key no other prompt (and no other node) can produce.
  if (unstable || definition?.notIdempotent) {
    out.update(`|once:${options.runNonce}:${JSON.stringify(nodeId)}`);
    options.volatile?.add(nodeId);
  }
}
