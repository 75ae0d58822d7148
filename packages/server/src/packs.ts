/**
 * The node packs the server loads. The main thread (validation, /object_info) and the engine worker (execution)
 * each build their registry from the same list of module specifiers, so both always agree on the node set.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NodeRegistry } from '@uso-studio/core';
import type { NodePack } from '@uso-studio/core';

/**
 * Packs loaded by default, as import specifiers. Add a pack here (and to package.json) to ship it.
 * nodes/testing is deliberately absent: it is engine test scaffolding, loaded only through `extraPacks`.
 */
export const DEFAULT_PACKS: readonly string[] = [
  '@uso-studio/nodes-primitives',
  '@uso-studio/nodes-image',
  '@uso-studio/nodes-comfy',
  '@uso-studio/nodes-uso',
];

/** Turns an absolute file path into a file URL so `import()` accepts it; leaves package names alone. */
function packSpecifier(spec: string): string {
  return isAbsolute(spec) ? pathToFileURL(spec).href : spec;
}

/** Imports each module and collects its `pack` export. A module without one is an error that names it. */
export async function loadPacks(specifiers: readonly string[]): Promise<NodePack[]> {
  const packs: NodePack[] = [];
  for (const spec of specifiers) {
    const mod = (await import(packSpecifier(spec))) as { pack?: NodePack };
    if (!mod.pack) throw new Error(`Node pack module '${spec}' has no 'pack' export`);
    packs.push(mod.pack);
  }
  return packs;
}

/** Builds a registry from packs, stamping each node with its pack name (rendered as python_module). */
export function buildRegistry(packs: readonly NodePack[]): NodeRegistry {
  const registry = new NodeRegistry();
  for (const pack of packs) for (const node of pack.nodes) registry.register(node.pack ? node : { ...node, pack: pack.name });
  return registry;
}

/** Loads the specifiers and builds the registry in one step. */
export async function loadRegistry(specifiers: readonly string[]): Promise<NodeRegistry> {
  return buildRegistry(await loadPacks(specifiers));
}
