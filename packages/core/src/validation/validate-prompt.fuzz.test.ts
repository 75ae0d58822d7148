/**
 * Property tests: no value makes validatePrompt throw, and every result is well-shaped. Valid 10-20 node prompts are
 * mutated (nodes and inputs deleted, classes swapped, random links and cycles, random JSON and JS values), and
 * random prompts are generated from scratch; 15,000 cases in all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineNode, type NodeDefinition } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';
import { sampleEnv, sampleNodes, sampleWorkflow } from './sample-graph.ts';
import { validatePrompt, type ValidationResult } from './validate-prompt.ts';
import { VALIDATION_ERROR_TYPES, type ValidationError } from './validation-errors.ts';

const noop = () => ({ outputs: [] });

/** Hooks that misbehave on some inputs, so the fuzz reaches the hook error paths too. */
const fuzzNodes: NodeDefinition[] = [
  defineNode({
    name: 'Moody',
    category: 'test',
    inputs: { required: { image: { type: 'IMAGE' }, mood: { type: 'INT', min: -5, max: 5 } }, optional: { note: { type: 'STRING' } } },
    outputs: [{ type: 'IMAGE' }],
    outputNode: true,
    validate: (inputs) => {
      const mood = inputs['mood'] as number;
      if (mood === 0) throw new Error('mood 0 throws');
      if (mood < 0) return Promise.reject(new Error('negative mood rejects'));
      return mood === 1 ? 'mood 1 is refused' : Promise.resolve(true);
    },
    execute: noop,
  }),
];

const registry = new NodeRegistry([...sampleNodes, ...fuzzNodes]);
const classNames = registry.names();
const outputClasses = new Set(classNames.filter((n) => registry.get(n)!.outputNode));
const promptLevelTypes = new Set(['no_prompt', 'invalid_prompt', 'prompt_no_outputs', 'prompt_outputs_failed_validation']);
const knownTypes = new Set<string>(VALIDATION_ERROR_TYPES);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorProblem(e: ValidationError, where: string): string | undefined {
  if (!isObject(e)) return `${where}: error is not an object`;
  if (!knownTypes.has(e.type)) return `${where}: unknown type ${String(e.type)}`;
  if (typeof e.message !== 'string' || typeof e.details !== 'string') return `${where}: message/details not strings`;
  if (!isObject(e.extra_info)) return `${where}: extra_info not an object`;
  return undefined;
}

/** Returns what is wrong with a result's shape, or undefined when it is well-formed. */
function shapeProblem(result: ValidationResult): string | undefined {
  if (!isObject(result) || typeof result.ok !== 'boolean') return 'result is not {ok: boolean}';
  if (!isObject(result.nodeErrors)) return 'nodeErrors is not an object';
  const dependents = new Set<string>();
  for (const id of Object.keys(result.nodeErrors)) {
    const entry = result.nodeErrors[id]!;
    if (!Array.isArray(entry.errors) || entry.errors.length === 0) return `node ${id}: no errors listed`;
    if (!Array.isArray(entry.dependent_outputs) || entry.dependent_outputs.length === 0) return `node ${id}: no dependent outputs`;
    if (!registry.has(entry.class_type)) return `node ${id}: class_type ${entry.class_type}`;
    for (const e of entry.errors) {
      const p = errorProblem(e, `node ${id}`);
      if (p) return p;
      if (promptLevelTypes.has(e.type)) return `node ${id}: prompt-level type ${e.type}`;
    }
    for (const o of entry.dependent_outputs) dependents.add(o);
  }
  try {
    JSON.stringify(result.nodeErrors);
    if (!result.ok) JSON.stringify(result.error);
  } catch (cause) {
    return `errors do not serialise: ${String(cause)}`;
  }
  if (result.ok) {
    if (!Array.isArray(result.outputs) || result.outputs.length === 0) return 'ok without outputs';
    if (new Set(result.outputs).size !== result.outputs.length) return 'duplicate outputs';
    if (!isObject(result.prompt)) return 'prompt is not an object';
    for (const o of result.outputs) {
      if (!Object.hasOwn(result.prompt, o) || !outputClasses.has(result.prompt[o]!.class_type)) return `output ${o} is not an output node`;
      if (dependents.has(o)) return `output ${o} is both valid and failed`;
    }
    for (const id of Object.keys(result.prompt)) {
      const node = result.prompt[id]!;
      if (!registry.has(node.class_type) || !isObject(node.inputs)) return `prompt node ${id} is malformed`;
    }
  } else {
    const p = errorProblem(result.error, 'prompt');
    if (p) return p;
    if (!promptLevelTypes.has(result.error.type)) return `prompt-level error of type ${result.error.type}`;
    if (result.error.type !== 'prompt_outputs_failed_validation' && Object.keys(result.nodeErrors).length > 0) {
      return `${result.error.type} with node errors`;
    }
    if (result.error.type === 'prompt_outputs_failed_validation' && Object.keys(result.nodeErrors).length === 0) {
      return 'failed outputs without node errors';
    }
  }
  return undefined;
}

/** Error types the fuzz reached, to check that it exercises every path and not just the first gate. */
const seenTypes = new Set<string>();

async function validateChecked(prompt: unknown): Promise<ValidationResult> {
  let result: ValidationResult;
  try {
    result = await validatePrompt(prompt, registry, sampleEnv);
  } catch (cause) {
    throw new Error(`validatePrompt threw: ${String(cause)}`);
  }
  const problem = shapeProblem(result);
  if (problem) throw new Error(problem);
  if (!result.ok) seenTypes.add(result.error.type);
  for (const entry of Object.values(result.nodeErrors)) for (const e of entry.errors) seenTypes.add(e.type);
  return result;
}

type Mutation =
  | { kind: 'deleteNode'; node: number }
  | { kind: 'deleteInput'; node: number; input: number }
  | { kind: 'setInput'; node: number; input: number; value: unknown }
  | { kind: 'link'; node: number; input: number; target: number | string; slot: number }
  | { kind: 'cycle'; node: number; input: number; target: number }
  | { kind: 'swapClass'; node: number; classType: unknown }
  | { kind: 'replaceNode'; node: number; value: unknown }
  | { kind: 'replaceInputs'; node: number; value: unknown }
  | { kind: 'dropClass'; node: number }
  | { kind: 'hostileKey'; node: number; key: string; value: unknown };

const hostileKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '');

function mutationArb(value: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> {
  const node = fc.nat(40);
  const input = fc.nat(20);
  return fc.oneof(
    fc.record({ kind: fc.constant('deleteNode' as const), node }),
    fc.record({ kind: fc.constant('deleteInput' as const), node, input }),
    fc.record({ kind: fc.constant('setInput' as const), node, input, value }),
    fc.record({
      kind: fc.constant('link' as const), node, input,
      target: fc.oneof(fc.nat(40), fc.string({ maxLength: 4 }), fc.integer()), slot: fc.integer({ min: -2, max: 4 }),
    }),
    fc.record({ kind: fc.constant('cycle' as const), node, input, target: fc.nat(40) }),
    fc.record({ kind: fc.constant('swapClass' as const), node, classType: fc.oneof(fc.constantFrom(...classNames), fc.string(), value) }),
    fc.record({ kind: fc.constant('replaceNode' as const), node, value }),
    fc.record({ kind: fc.constant('replaceInputs' as const), node, value }),
    fc.record({ kind: fc.constant('dropClass' as const), node }),
    fc.record({ kind: fc.constant('hostileKey' as const), node, key: hostileKeys, value: fc.oneof(value, fc.constant(['1', 0])) }),
  );
}

/**
 * Applies mutations to a (fresh) prompt. Picks wrap around the current node and input lists. A mutation that the
 * target refuses (a frozen typed array, a boxed string) is skipped.
 */
function mutate(prompt: Record<string, unknown>, mutations: readonly Mutation[]): Record<string, unknown> {
  for (const m of mutations) {
    try {
      applyMutation(prompt, m);
    } catch {
      // The value cannot take this mutation; the prompt stays as it was.
    }
  }
  return prompt;
}

function applyMutation(prompt: Record<string, unknown>, m: Mutation): void {
  {
    const ids = Object.keys(prompt);
    if (ids.length === 0) return;
    const id = ids[m.node % ids.length]!;
    const node = prompt[id];
    const inputsOf = () => (isObject(node) && isObject(node['inputs']) ? node['inputs'] : undefined);
    const inputName = (pick: number) => {
      const inputs = inputsOf();
      const names = inputs ? Object.keys(inputs) : [];
      return names.length > 0 ? names[pick % names.length]! : `extra${pick}`;
    };
    const define = (target: Record<string, unknown>, key: string, value: unknown) =>
      Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
    switch (m.kind) {
      case 'deleteNode':
        delete prompt[id];
        break;
      case 'deleteInput': {
        const inputs = inputsOf();
        if (inputs) delete inputs[inputName(m.input)];
        break;
      }
      case 'setInput':
      case 'link':
      case 'cycle': {
        const inputs = inputsOf();
        if (!inputs) break;
        const value =
          m.kind === 'setInput' ? m.value
          : m.kind === 'link' ? [typeof m.target === 'number' && m.target >= 0 && m.target <= 40 ? ids[m.target % ids.length] : m.target, m.slot]
          : [ids[m.target % ids.length], 0];
        define(inputs, inputName(m.input), value);
        break;
      }
      case 'swapClass':
        if (isObject(node)) node['class_type'] = m.classType;
        break;
      case 'replaceNode':
        define(prompt, id, m.value);
        break;
      case 'replaceInputs':
        if (isObject(node)) node['inputs'] = m.value;
        break;
      case 'dropClass':
        if (isObject(node)) delete node['class_type'];
        break;
      case 'hostileKey': {
        const inputs = inputsOf();
        define(inputs ?? prompt, m.key, m.value);
        break;
      }
    }
  }
}

/** A valid 10-20 node prompt: the sample workflow plus a Moody output whose hook throws, rejects or refuses by mood. */
const basePrompt = fc
  .tuple(fc.integer({ min: 9, max: 19 }), fc.integer({ min: -1, max: 3 }))
  .map(([size, mood]) => {
    const prompt = sampleWorkflow(size) as Record<string, unknown>;
    prompt['moody'] = { class_type: 'Moody', inputs: { image: ['6', 0], mood } };
    return prompt;
  });

/** Random values, plus a few that mean something to the sample nodes (a combo choice, an unsafe prefix). */
const interesting = fc.constantFrom('../up', 'euler', 'uso.safetensors', 'nope.safetensors', '5', '2.5', 'true', 9000, -3);

describe('validatePrompt fuzz', () => {
  it('never throws on mutated valid prompts (JSON values), and valid results are a fixpoint', async () => {
    let okCount = 0;
    await fc.assert(
      fc.asyncProperty(basePrompt, fc.array(mutationArb(fc.oneof(interesting, fc.jsonValue({ maxDepth: 3 }))), { minLength: 1, maxLength: 6 }), async (base, mutations) => {
        const prompt = mutate(base, mutations);
        const result = await validateChecked(prompt);
        if (!result.ok) return;
        okCount++;
        // Validating the canonical prompt again changes nothing: conversion is idempotent.
        const again = await validateChecked(result.prompt);
        if (!again.ok) throw new Error(`re-validation failed: ${JSON.stringify(again.error)}`);
        expect(again.outputs).toEqual(result.outputs);
        expect(again.prompt).toEqual(result.prompt);
        expect(JSON.parse(JSON.stringify(result.prompt))).toEqual(result.prompt);
      }),
      { numRuns: 10_000 },
    );
    // The mutations must leave enough prompts valid for the fixpoint check to mean something.
    expect(okCount).toBeGreaterThan(300);
  });

  it('never throws on mutated prompts holding arbitrary JS values', async () => {
    const anything = fc.anything({
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
    });
    await fc.assert(
      fc.asyncProperty(basePrompt, fc.array(mutationArb(anything), { minLength: 1, maxLength: 6 }), async (base, mutations) => {
        await validateChecked(mutate(base, mutations));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on random prompts built from scratch', async () => {
    const link = fc.tuple(fc.oneof(fc.nat(12).map(String), fc.nat(12), fc.string({ maxLength: 3 })), fc.integer({ min: -1, max: 3 }));
    const inputValue = fc.oneof(link, fc.jsonValue({ maxDepth: 2 }));
    const inputName = fc.oneof(
      fc.constantFrom('image', 'images', 'value', 'a', 'b', 'factor', 'method', 'mood', 'text', 'clip', 'samples', 'vae', 'seed', 'ckpt_name', 'filename_prefix'),
      fc.string({ maxLength: 4 }),
    );
    const node = fc.record({
      class_type: fc.oneof(fc.constantFrom(...classNames), fc.string({ maxLength: 3 })),
      inputs: fc.dictionary(inputName, inputValue, { maxKeys: 5 }),
    });
    const prompt = fc.dictionary(fc.oneof(fc.nat(12).map(String), fc.string({ maxLength: 3 })), node, { maxKeys: 12 });
    await fc.assert(
      fc.asyncProperty(prompt, async (p) => {
        await validateChecked(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary top-level values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true })), async (value) => {
        await validateChecked(value);
      }),
      { numRuns: 1000 },
    );
  });

  it('reached every error type', () => {
    expect([...seenTypes].sort()).toEqual([...VALIDATION_ERROR_TYPES].sort());
  });
});
