/**
 * ComfyUI's list semantics. Inside the engine every input and output is a list of values: a constant is a list of
 * one, a normal output holds one value per run, an `isList` output holds the concatenated elements. A node runs once per
 * element of its longest input list, shorter lists repeating their last element, unless it takes whole lists.
 */
import type { NodeDefinition, NodeInputs, NodeResult } from '../node-api.ts';

/** Inputs as lists, keyed by input name. */
export type ListInputs = Record<string, readonly unknown[]>;

/**
 * How many times a node runs for these inputs: 1 without inputs or when it takes whole lists, 0 when some input list is
 * empty (there is no element to pair with), else the longest list's length.
 */
export function runCount(definition: NodeDefinition, inputs: ListInputs): number {
  if (definition.inputIsList) return 1;
  let longest = 0;
  let any = false;
  for (const name in inputs) {
    const length = inputs[name]!.length;
    if (length === 0) return 0;
    any = true;
    if (length > longest) longest = length;
  }
  return any ? longest : 1;
}

/** The inputs of run `index`: element `index` of each list, or its last element when the list is shorter. */
export function sliceInputs(inputs: ListInputs, index: number): NodeInputs {
  const out: NodeInputs = {};
  for (const name in inputs) {
    const list = inputs[name]!;
    out[name] = list[index < list.length ? index : list.length - 1];
  }
  return out;
}

/** The inputs a node receives on each run: whole lists for `inputIsList` nodes, else one element per input. */
export function inputsForRuns(definition: NodeDefinition, inputs: ListInputs): NodeInputs[] {
  if (definition.inputIsList) return [{ ...inputs }];
  const count = runCount(definition, inputs);
  const runs: NodeInputs[] = [];
  for (let i = 0; i < count; i++) runs.push(sliceInputs(inputs, i));
  return runs;
}

/**
 * Merges the results of a node's runs: an `isList` output concatenates each run's list, any other output collects one
 * value per run. UI outputs merge key by key, concatenating arrays (ComfyUI's shape); a single run's UI is kept as is.
 */
export function mergeResults(
  definition: NodeDefinition,
  results: readonly NodeResult[],
): { outputs: unknown[][]; ui: Record<string, unknown> | undefined } {
  const outputs: unknown[][] = [];
  for (let slot = 0; slot < definition.outputs.length; slot++) outputs.push([]);
  for (const result of results) {
    const values = result?.outputs ?? [];
    for (let slot = 0; slot < outputs.length; slot++) {
      const value = values[slot];
      if (definition.outputs[slot]!.isList) {
        if (Array.isArray(value)) for (const item of value) outputs[slot]!.push(item);
        else if (value !== undefined) outputs[slot]!.push(value);
      } else {
        outputs[slot]!.push(value);
      }
    }
  }
  return { outputs, ui: mergeUi(results) };
}

function mergeUi(results: readonly NodeResult[]): Record<string, unknown> | undefined {
  let first: Record<string, unknown> | undefined;
  let merged: Record<string, unknown> | undefined;
  for (const result of results) {
    const ui = result?.ui;
    if (!ui) continue;
    let empty = true;
    for (const _ in ui) {
      empty = false;
      break;
    }
    if (empty) continue;
    if (!first) {
      first = ui;
      continue;
    }
    if (!merged) merged = appendUi({}, first);
    appendUi(merged, ui);
  }
  return merged ?? first;
}

function appendUi(target: Record<string, unknown>, ui: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(ui)) {
    const list = (target[key] ??= []) as unknown[];
    if (Array.isArray(value)) list.push(...value);
    else list.push(value);
  }
  return target;
}
