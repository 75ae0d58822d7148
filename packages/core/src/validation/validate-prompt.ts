/**
 * Prompt validation with ComfyUI's semantics: check every node's class, pick the output nodes, and validate each
 * output with its ancestors, so one broken branch fails only the outputs that depend on it. The walk is iterative
 * (a 100,000-node chain cannot overflow the stack) and nothing in the prompt can make it throw.
 */
import type { GraphInput, LinkInput } from '../graph.ts';
import type { ApiPrompt, HostEnvironment, InputDef, NodeDefinition, NodeInputs } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';
import { COERCED_TYPES, coerceConstant } from './coerce.ts';
import { jsonSafe, pyNumber, setOwn } from './py-format.ts';
import { typesMatch } from './types-match.ts';
import {
  customValidationFailed,
  dependencyCycle,
  exceptionDuringValidation,
  invalidInputType,
  linkToMissingNode,
  linkToMissingSlot,
  malformedInputs,
  malformedLink,
  missingClassType,
  nodeNotObject,
  noPrompt,
  promptNoOutputs,
  promptOutputsFailed,
  requiredInputMissing,
  returnTypeMismatch,
  unknownClassType,
  validationCrashed,
  valueBiggerThanMax,
  valueNotInList,
  valueSmallerThanMin,
  type NodeErrors,
  type ValidationError,
} from './validation-errors.ts';

/**
 * The outcome of validation. `ok: true` carries the prompt with its constants converted (INT "5" is 5) and the ids of
 * the output nodes to execute; `nodeErrors` then lists the outputs that failed and will not run. `ok: false` carries
 * the prompt-level error that POST /prompt answers with a 400.
 */
export type ValidationResult =
  | { ok: true; prompt: ApiPrompt; outputs: string[]; nodeErrors: NodeErrors }
  | { ok: false; error: ValidationError; nodeErrors: NodeErrors };

export interface ValidatePromptOptions {
  /** ComfyUI's `partial_execution_targets`: only these output nodes (and their ancestors) are validated and run. */
  partialExecutionTargets?: readonly string[];
}

/**
 * Validates an API prompt against the registry. Never throws: any value, however malformed, yields a result.
 *
 * @example
 * const result = await validatePrompt(body.prompt, registry, env, { partialExecutionTargets: body.partial_execution_targets });
 * if (!result.ok) return res.status(400).json({ error: result.error, node_errors: result.nodeErrors });
 */
export async function validatePrompt(
  prompt: unknown,
  registry: NodeRegistry,
  env: HostEnvironment,
  options?: ValidatePromptOptions,
): Promise<ValidationResult> {
  try {
    return await new PromptValidator(registry, env).run(prompt, options);
  } catch (cause) {
    return { ok: false, error: validationCrashed(cause), nodeErrors: {} };
  }
}

/** A prompt node that passed the prompt-level checks. */
interface ParsedNode {
  id: string;
  classType: string;
  def: NodeDefinition;
  inputs: Record<string, unknown>;
  meta: Record<string, unknown> | undefined;
}

/** What validating one node's own inputs found. */
interface NodeCheck {
  errors: ValidationError[];
  /** Upstream node ids through links that passed their checks: the edges the walk follows. */
  deps: string[];
  /** Known inputs that passed: converted constants and typed links. */
  values: Map<string, GraphInput>;
}

interface InputSpec {
  name: string;
  def: InputDef;
  required: boolean;
}

/** How many nodes of a cycle its errors name. */
const MAX_CYCLE_LISTED = 50;

const WHITE = 0;
const GRAY = 1;
const BLACK = 2;

class PromptValidator {
  readonly #registry: NodeRegistry;
  readonly #env: HostEnvironment;
  readonly #nodes = new Map<string, ParsedNode>();
  readonly #checks = new Map<string, NodeCheck>();
  /** Combo options computed once per validation, so a folder listed by five loaders is read once. */
  readonly #comboOptions = new Map<InputDef, readonly unknown[]>();

  constructor(registry: NodeRegistry, env: HostEnvironment) {
    this.#registry = registry;
    this.#env = env;
  }

  async run(prompt: unknown, options: ValidatePromptOptions | undefined): Promise<ValidationResult> {
    if (!isObject(prompt)) return { ok: false, error: noPrompt(), nodeErrors: {} };
    const ids = Object.keys(prompt);
    if (ids.length === 0) return { ok: false, error: noPrompt(), nodeErrors: {} };

    for (const id of ids) {
      const parsed = this.#parseNode(id, (prompt as Record<string, unknown>)[id]);
      if ('type' in parsed) return { ok: false, error: parsed, nodeErrors: {} };
      this.#nodes.set(id, parsed);
    }

    const targets = targetSet(options?.partialExecutionTargets);
    const outputs: string[] = [];
    for (const node of this.#nodes.values()) {
      if (node.def.outputNode === true && (targets === undefined || targets.has(node.id))) outputs.push(node.id);
    }
    if (outputs.length === 0) return { ok: false, error: promptNoOutputs(), nodeErrors: {} };

    this.#walk(outputs);
    await this.#runHooks();

    const invalid = this.#invalidNodes();
    const good = outputs.filter((o) => !invalid.has(o));
    const nodeErrors = this.#nodeErrors(outputs.filter((o) => invalid.has(o)));

    if (good.length === 0) {
      const lines: string[] = [];
      for (const entry of Object.values(nodeErrors)) for (const e of entry.errors) lines.push(`${e.message}: ${e.details}`);
      return { ok: false, error: promptOutputsFailed(lines), nodeErrors };
    }
    return { ok: true, prompt: this.#coercedPrompt(), outputs: good, nodeErrors };
  }

  #parseNode(id: string, raw: unknown): ParsedNode | ValidationError {
    if (!isObject(raw)) return nodeNotObject(id);
    const meta = ownValue(raw, '_meta');
    const classType = ownValue(raw, 'class_type');
    if (typeof classType !== 'string') return missingClassType(id);
    const def = this.#registry.get(classType);
    if (!def) return unknownClassType(id, classType);
    const inputs = ownValue(raw, 'inputs');
    if (inputs !== undefined && !isObject(inputs)) return malformedInputs(id, classType, inputs);
    return { id, classType, def, inputs: inputs ?? {}, meta: isObject(meta) ? meta : undefined };
  }

  /**
   * Depth-first walk upstream from each output, checking every node on first sight. A link back to a node still on
   * the walk's stack closes a cycle; every node on it gets a `dependency_cycle` error, as ComfyUI reports it.
   */
  #walk(outputs: readonly string[]): void {
    const color = new Map<string, number>();
    const stack: { id: string; next: number }[] = [];
    const position = new Map<string, number>();
    const enter = (id: string) => {
      color.set(id, GRAY);
      position.set(id, stack.length);
      stack.push({ id, next: 0 });
      this.#checks.set(id, this.#checkNode(this.#nodes.get(id)!));
    };
    for (const output of outputs) {
      if ((color.get(output) ?? WHITE) !== WHITE) continue;
      enter(output);
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        const deps = this.#checks.get(frame.id)!.deps;
        if (frame.next < deps.length) {
          const dep = deps[frame.next++]!;
          const c = color.get(dep) ?? WHITE;
          if (c === WHITE) enter(dep);
          else if (c === GRAY) this.#markCycle([...stack.slice(position.get(dep)!).map((f) => f.id), dep]);
        } else {
          color.set(frame.id, BLACK);
          position.delete(frame.id);
          stack.pop();
        }
      }
    }
  }

  #markCycle(path: readonly string[]): void {
    const members = [...new Set(path)];
    // Every member repeats the path, so a long cycle is listed in part to keep the response linear in its size.
    const shown = path.length > MAX_CYCLE_LISTED ? path.slice(0, MAX_CYCLE_LISTED) : path;
    let text = shown.map((id) => `${id} (${this.#nodes.get(id)!.classType})`).join(' -> ');
    if (shown !== path) text += ' -> ...';
    const listed = members.slice(0, MAX_CYCLE_LISTED);
    for (const id of members) {
      const check = this.#checks.get(id)!;
      if (!check.errors.some((e) => e.type === 'dependency_cycle')) check.errors.push(dependencyCycle(id, text, listed, members.length));
    }
  }

  /** Checks one node's own inputs; upstream nodes are the walk's business. */
  #checkNode(node: ParsedNode): NodeCheck {
    const check: NodeCheck = { errors: [], deps: [], values: new Map() };
    for (const spec of inputSpecs(node.def)) {
      if (!Object.hasOwn(node.inputs, spec.name)) {
        if (spec.required) check.errors.push(requiredInputMissing(spec.name));
        continue;
      }
      const raw = node.inputs[spec.name];
      const byHook = node.def.validatesInputs?.includes(spec.name) ?? false;
      const error = Array.isArray(raw) ? this.#checkLink(spec, raw, check) : this.#checkConstant(spec, raw, check, byHook);
      if (error) check.errors.push(error);
    }
    return check;
  }

  #checkLink(spec: InputSpec, raw: unknown[], check: NodeCheck): ValidationError | undefined {
    const link = parseLink(raw);
    if (!link) return malformedLink(spec.name, this.#inputConfig(spec.def), raw);
    const pair: [string, number] = [link.from, link.slot];
    const source = this.#nodes.get(link.from);
    if (!source) return linkToMissingNode(spec.name, this.#inputConfig(spec.def), pair);
    const outputs = Array.isArray(source.def.outputs) ? source.def.outputs : [];
    const output = outputs[link.slot];
    if (!output) return linkToMissingSlot(spec.name, this.#inputConfig(spec.def), pair, source.classType, outputs.length);
    const receivedType = String(output.type);
    if (!typesMatch(receivedType, spec.def.type)) {
      return returnTypeMismatch(spec.name, this.#inputConfig(spec.def), receivedType, spec.def.type, pair);
    }
    check.deps.push(link.from);
    check.values.set(spec.name, link);
    return undefined;
  }

  /** `byHook`: the node's validate hook takes this input over, so range and list checks are its business. */
  #checkConstant(spec: InputSpec, raw: unknown, check: NodeCheck, byHook: boolean): ValidationError | undefined {
    const { name, def } = spec;
    const type = def.type;
    // ComfyUI lets a widget carry a list (which would read as a link) by wrapping it as {"__value__": [...]}.
    const value = isObject(raw) && Object.hasOwn(raw, '__value__') ? raw['__value__'] : raw;

    if (COERCED_TYPES.has(type)) {
      const converted = coerceConstant(type, value);
      if (!converted.ok) return invalidInputType(name, this.#inputConfig(def), type, value, converted.reason);
      const v = converted.value;
      if (typeof v === 'number' && !byHook) {
        const shown = pyNumber(v, type === 'FLOAT');
        if (typeof def.min === 'number' && v < def.min) return valueSmallerThanMin(name, this.#inputConfig(def), shown, v, def.min);
        if (typeof def.max === 'number' && v > def.max) return valueBiggerThanMax(name, this.#inputConfig(def), shown, v, def.max);
      }
      check.values.set(name, { kind: 'constant', value: v });
      return undefined;
    }

    if (type === 'COMBO' && byHook) {
      check.values.set(name, { kind: 'constant', value });
      return undefined;
    }
    if (type === 'COMBO') {
      let options: readonly unknown[];
      try {
        options = this.#options(def);
      } catch (cause) {
        return exceptionDuringValidation(cause, name);
      }
      if (!options.includes(value)) return valueNotInList(name, this.#inputConfig(def, options), value, options);
      check.values.set(name, { kind: 'constant', value });
      return undefined;
    }

    // A union or '*' input can take a constant of some member type; a plain socket type (IMAGE, MODEL) only links.
    if (type.includes('*') || type.includes(',')) {
      check.values.set(name, { kind: 'constant', value });
      return undefined;
    }
    return invalidInputType(name, this.#inputConfig(def), type, value, `${type} inputs take a link, not a constant`);
  }

  #options(def: InputDef): readonly unknown[] {
    let options = this.#comboOptions.get(def);
    if (!options) {
      const computed = NodeRegistry.comboOptions(def, this.#env);
      options = Array.isArray(computed) ? computed : [];
      this.#comboOptions.set(def, options);
    }
    return options;
  }

  /** The input's declaration as /object_info renders it, for `extra_info.input_config`. */
  #inputConfig(def: InputDef, options?: readonly unknown[]): unknown {
    const opts: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) if (def[key] !== undefined) opts[key] = jsonSafe(def[key]);
    if (def.type !== 'COMBO') return [def.type, opts];
    let list = options;
    if (!list) {
      try {
        list = this.#options(def);
      } catch {
        list = [];
      }
    }
    return [jsonSafe(list), opts];
  }

  /**
   * Runs the `validate` hooks of nodes whose own inputs passed, with their converted constants. Hooks may be async;
   * they run concurrently and a throw or rejection becomes `exception_during_validation` on that node.
   */
  async #runHooks(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const [id, check] of this.#checks) {
      const def = this.#nodes.get(id)!.def;
      if (typeof def.validate !== 'function' || check.errors.length > 0) continue;
      const inputs: NodeInputs = {};
      for (const [name, input] of check.values) if (input.kind === 'constant') setOwn(inputs, name, input.value);
      const record = (result: unknown) => {
        if (result === true) return;
        if (def.validatesInputs?.length) for (const name of def.validatesInputs) check.errors.push(customValidationFailed(result, name));
        else check.errors.push(customValidationFailed(result));
      };
      const recordThrow = (cause: unknown) => {
        check.errors.push(exceptionDuringValidation(cause));
      };
      try {
        const result: unknown = def.validate(inputs, this.#env);
        if (isThenable(result)) pending.push(Promise.resolve(result).then(record, recordThrow));
        else record(result);
      } catch (cause) {
        recordThrow(cause);
      }
    }
    if (pending.length > 0) await Promise.all(pending);
  }

  /** Nodes with errors and every node downstream of one (through the followed links). */
  #invalidNodes(): Set<string> {
    const dependents = new Map<string, string[]>();
    const invalid = new Set<string>();
    const queue: string[] = [];
    for (const [id, check] of this.#checks) {
      for (const dep of check.deps) {
        let list = dependents.get(dep);
        if (!list) dependents.set(dep, (list = []));
        list.push(id);
      }
      if (check.errors.length > 0) {
        invalid.add(id);
        queue.push(id);
      }
    }
    while (queue.length > 0) {
      const id = queue.pop()!;
      for (const d of dependents.get(id) ?? []) {
        if (!invalid.has(d)) {
          invalid.add(d);
          queue.push(d);
        }
      }
    }
    return invalid;
  }

  /**
   * ComfyUI's node_errors: each node with errors, and the failed outputs that depend on it. Nodes that are invalid
   * only because something upstream failed carry no errors and are left out.
   */
  #nodeErrors(failedOutputs: readonly string[]): NodeErrors {
    const result: NodeErrors = {};
    for (const output of failedOutputs) {
      const seen = new Set<string>([output]);
      const queue = [output];
      while (queue.length > 0) {
        const id = queue.pop()!;
        const check = this.#checks.get(id)!;
        if (check.errors.length > 0) {
          let entry = Object.hasOwn(result, id) ? result[id] : undefined;
          if (!entry) {
            entry = { errors: check.errors, dependent_outputs: [], class_type: this.#nodes.get(id)!.classType };
            setOwn(result, id, entry);
          }
          entry.dependent_outputs.push(output);
        }
        for (const dep of check.deps) {
          if (!seen.has(dep)) {
            seen.add(dep);
            queue.push(dep);
          }
        }
      }
    }
    return result;
  }

  /**
   * A fresh copy of the prompt in canonical form: converted constants, links as `[source id string, slot]`, and
   * links under names the node does not declare dropped (nothing validated them, so nothing may follow them).
   */
  #coercedPrompt(): ApiPrompt {
    const prompt: ApiPrompt = {};
    for (const node of this.#nodes.values()) {
      const check = this.#checks.get(node.id);
      const known = knownInputNames(node.def);
      const inputs: Record<string, unknown> = {};
      for (const name of Object.keys(node.inputs)) {
        const raw = node.inputs[name];
        if (!known.has(name)) {
          if (!Array.isArray(raw)) setOwn(inputs, name, withoutNegativeZero(raw));
          continue;
        }
        const checked = check?.values.get(name);
        let value: unknown = raw;
        if (checked) value = checked.kind === 'link' ? [checked.from, checked.slot] : checked.value;
        else if (Array.isArray(raw)) {
          const link = parseLink(raw);
          if (link) value = [link.from, link.slot];
        }
        setOwn(inputs, name, value);
      }
      const out: ApiPrompt[string] = { class_type: node.classType, inputs };
      if (node.meta) out._meta = { ...node.meta } as { title?: string };
      setOwn(prompt as Record<string, unknown>, node.id, out);
    }
    return prompt;
  }
}

const CONFIG_KEYS = [
  'default', 'min', 'max', 'step', 'round', 'multiline', 'placeholder', 'label_on', 'label_off',
  'image_upload', 'control_after_generate', 'forceInput', 'lazy', 'tooltip',
] as const;

/** Definitions are declared once and never change, so their input lists are worked out once. */
const specCache = new WeakMap<NodeDefinition, { specs: InputSpec[]; names: Set<string> }>();

function inputSpecs(def: NodeDefinition): InputSpec[] {
  return cachedSpecs(def).specs;
}

function knownInputNames(def: NodeDefinition): Set<string> {
  return cachedSpecs(def).names;
}

function cachedSpecs(def: NodeDefinition): { specs: InputSpec[]; names: Set<string> } {
  let entry = specCache.get(def);
  if (!entry) {
    const specs = readInputSpecs(def);
    entry = { specs, names: new Set(specs.map((s) => s.name)) };
    specCache.set(def, entry);
  }
  return entry;
}

/** Required inputs first, then optional ones, in declaration order; a name declared twice counts as required. */
function readInputSpecs(def: NodeDefinition): InputSpec[] {
  const specs: InputSpec[] = [];
  const seen = new Set<string>();
  const groups = isObject(def.inputs) ? def.inputs : {};
  for (const [group, required] of [['required', true], ['optional', false]] as const) {
    const entries = (groups as Record<string, unknown>)[group];
    if (!isObject(entries)) continue;
    for (const name of Object.keys(entries)) {
      const input = entries[name];
      if (seen.has(name) || !isObject(input) || typeof input['type'] !== 'string') continue;
      seen.add(name);
      specs.push({ name, def: input as unknown as InputDef, required });
    }
  }
  return specs;
}

/** A well-formed link: [id, slot] with a string (or finite number) id and a non-negative integer slot. */
function parseLink(value: readonly unknown[]): LinkInput | undefined {
  if (value.length !== 2) return undefined;
  const [from, slot] = value;
  const id = typeof from === 'string' ? from : typeof from === 'number' && Number.isFinite(from) ? String(from) : undefined;
  if (id === undefined || typeof slot !== 'number' || !Number.isSafeInteger(slot) || slot < 0) return undefined;
  return { kind: 'link', from: id, slot };
}

function targetSet(targets: unknown): Set<string> | undefined {
  if (!Array.isArray(targets)) return undefined;
  const set = new Set<string>();
  for (const t of targets) if (typeof t === 'string') set.add(t);
  return set;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function ownValue(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * JSON writes -0 as 0, so a canonical prompt holding -0 would not survive its own round trip (the stored queue item
 * would differ from the validated one). Unknown inputs pass through untouched otherwise.
 */
function withoutNegativeZero(value: unknown, depth = 0): unknown {
  if (Object.is(value, -0)) return 0;
  if (depth > 64 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.some((v) => typeof v === 'object' || Object.is(v, -0)) ? value.map((v) => withoutNegativeZero(v, depth + 1)) : value;
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let changed: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const w = withoutNegativeZero(v, depth + 1);
    if (!Object.is(w, v)) {
      changed ??= { ...(value as Record<string, unknown>) };
      Object.defineProperty(changed, k, { value: w, enumerable: true, writable: true, configurable: true });
    }
  }
  return changed ?? value;
}
