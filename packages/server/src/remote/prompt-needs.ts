/**
 * The files a prompt needs, read from its node schemas: a string input whose schema names a `modelFolder` is a model
 * file, one with `image_upload` is an input image. Routing, a worker's refusal and input transfer all use this.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ApiPrompt, HostEnvironment, InputDef, NodeRegistry } from '@uso-studio/core';
import type { PromptNeeds } from './remote-protocol.ts';

/** Each string value a prompt gives a declared input of a known class, with that input's schema. */
function* stringInputs(prompt: ApiPrompt, registry: NodeRegistry): Generator<{ value: string; spec: InputDef }> {
  for (const node of Object.values(prompt)) {
    const def = registry.get(node.class_type);
    if (!def) continue;
    for (const [name, value] of Object.entries(node.inputs)) {
      if (typeof value !== 'string') continue;
      const spec = def.inputs.required?.[name] ?? def.inputs.optional?.[name];
      if (spec) yield { value, spec };
    }
  }
}

export function promptNeeds(prompt: ApiPrompt, registry: NodeRegistry): PromptNeeds {
  const models = new Set<string>();
  const inputs = new Set<string>();
  for (const { value, spec } of stringInputs(prompt, registry)) {
    if (spec.modelFolder) models.add(`${spec.modelFolder}/${value}`);
    // ComfyUI clients may annotate an input file as `name [input]`.
    if (spec.image_upload) inputs.add(value.replace(/ \[input\]$/, ''));
  }
  return { models: [...models].sort(), inputs: [...inputs].sort() };
}

/** Every model file under `modelsDir` as `folder/name` (forward slashes), hidden files skipped. */
export function listModelFiles(modelsDir: string): string[] {
  const out: string[] = [];
  if (!existsSync(modelsDir)) return out;
  const walk = (dir: string, depth: number) => {
    if (depth > 8) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (depth > 0 && (e.isFile() || (e.isSymbolicLink() && isFile(p)))) out.push(relative(modelsDir, p).split(sep).join('/'));
    }
  };
  walk(modelsDir, 0);
  return out.sort();
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The model files this host lacks for a prompt, as `folder/name`. Asks each input's own combo (with this host's
 * models folder), so folder aliases and filters are the node's, not ours.
 */
export function missingModelFiles(prompt: ApiPrompt, registry: NodeRegistry, env: HostEnvironment): string[] {
  const missing = new Set<string>();
  for (const { value, spec } of stringInputs(prompt, registry)) {
    if (!spec.modelFolder) continue;
    const options = typeof spec.options === 'function' ? spec.options(env) : (spec.options ?? []);
    if (!options.includes(value)) missing.add(`${spec.modelFolder}/${value}`);
  }
  return [...missing].sort();
}
