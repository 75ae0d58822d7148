/**
 * Maps checkpoint key names to one canonical scheme before any graph is built. Single-file checkpoints nest a model
 * under a prefix (ComfyUI's `model.diffusion_model.`, USO's projector `feature_embedder.`); a prefixed view strips it
 * so architecture code only ever sees the canonical names.
 */

import type { SafetensorsHeader, SafetensorsTensorInfo } from './header.ts';

/**
 * The longest of `candidates` that prefixes at least one key, or undefined when none does (an empty candidate always
 * matches). Used to find where a model lives inside a combined checkpoint.
 */
export function detectKeyPrefix(names: Iterable<string>, candidates: readonly string[]): string | undefined {
  const list = [...names];
  const sorted = [...candidates].sort((a, b) => b.length - a.length);
  return sorted.find((prefix) => list.some((name) => name.startsWith(prefix)));
}

/** Renames keys: keeps only keys starting with `stripPrefix` (when given), removes it, then prepends `addPrefix`. */
export function remapKeys(
  names: Iterable<string>,
  rule: { readonly stripPrefix?: string; readonly addPrefix?: string },
): Map<string, string> {
  const strip = rule.stripPrefix ?? '';
  const add = rule.addPrefix ?? '';
  const out = new Map<string, string>(); // new name -> original name
  for (const name of names) {
    if (!name.startsWith(strip)) continue;
    out.set(add + name.slice(strip.length), name);
  }
  return out;
}

/**
 * A header restricted to the tensors under `prefix`, with the prefix removed from their names. Offsets still point
 * into the same file, so the view can be handed to the graph builder like the original.
 *
 * @example
 * const dit = withKeyPrefix(readSafetensorsHeader('flux1-dev-fp8.safetensors'), 'model.diffusion_model.');
 * dit.tensors.has('double_blocks.0.img_attn.qkv.weight'); // true
 */
export function withKeyPrefix(header: SafetensorsHeader, prefix: string, addPrefix = ''): SafetensorsHeader {
  const mapping = remapKeys(header.tensors.keys(), { stripPrefix: prefix, addPrefix });
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, original] of mapping) {
    tensors.set(name, { ...header.tensors.get(original)!, name });
  }
  return { ...header, tensors };
}
