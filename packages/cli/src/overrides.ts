/**
 * `--set <node>.<input>=<value>` overrides for the headless runner. The node part matches a node id first
 * (flattened subgraph ids such as `57:12` included), then a node title, then a class type (every node of that class).
 */
import type { ApiPrompt } from '@uso-studio/core';

export interface Override {
  selector: string;
  input: string;
  value: unknown;
}

export class OverrideError extends Error {
  override name = 'OverrideError';
}

/** Parses `node.input=value`. The value is read as JSON when it parses (numbers, booleans, quoted strings), else as text. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq < 0) throw new OverrideError(`--set '${text}': expected <node>.<input>=<value>`);
  const target = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const dot = target.lastIndexOf('.');
  if (dot <= 0 || dot === target.length - 1) throw new OverrideError(`--set '${text}': expected <node>.<input>=<value>`);
  return { selector: target.slice(0, dot), input: target.slice(dot + 1), value: parseValue(raw) };
}

function parseValue(raw: string): unknown {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? raw : parsed;
  } catch {
    return raw;
  }
}

/** The ids an override applies to: an exact id, else nodes with that title, else nodes of that class. */
export function matchNodes(prompt: ApiPrompt, selector: string): string[] {
  if (Object.hasOwn(prompt, selector)) return [selector];
  const byTitle = Object.keys(prompt).filter((id) => prompt[id]?._meta?.title === selector);
  if (byTitle.length) return byTitle;
  return Object.keys(prompt).filter((id) => prompt[id]?.class_type === selector);
}

/** Returns a new prompt with the overrides applied; an override that matches nothing is an error, not a silent no-op. */
export function applyOverrides(prompt: ApiPrompt, overrides: readonly Override[]): ApiPrompt {
  const next: ApiPrompt = structuredClone(prompt);
  for (const o of overrides) {
    const ids = matchNodes(next, o.selector);
    if (!ids.length) throw new OverrideError(`--set ${o.selector}.${o.input}: no node has that id, title or type`);
    for (const id of ids) next[id]!.inputs[o.input] = o.value;
  }
  return next;
}
