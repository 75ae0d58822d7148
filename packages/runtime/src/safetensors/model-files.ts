/**
 * A model's tensors as one header, whether it comes as a single .safetensors file or as a Hugging Face / diffusers
 * folder of shards (`model-00001-of-00004.safetensors` ... plus `model.safetensors.index.json`). The shards are merged
 * into one view whose tensors each name the file that holds them, so the loader, the graph builder's external data
 * and the cache key work the same for both.
 */

import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SafetensorsFormatError, SafetensorsNotFoundError } from './errors.ts';
import { readSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from './header.ts';

/**
 * Reads a model's header from a file or a shard folder.
 *
 * @example
 * readModelHeader('models/diffusion_models/flux1-dev.safetensors');
 * readModelHeader('FLUX.1-dev/transformer'); // diffusion_pytorch_model-0000N-of-00003.safetensors + index JSON
 * @throws SafetensorsNotFoundError (missing file or shard: an interrupted download), SafetensorsFormatError
 */
export function readModelHeader(path: string): SafetensorsHeader {
  const target = resolve(path);
  if (!existsSync(target) || !statSync(target).isDirectory()) return readSafetensorsHeader(target);
  const entries = readdirSync(target);
  const indexes = entries.filter((f) => f.endsWith('.safetensors.index.json')).sort();
  if (indexes.length > 0) return readShardedHeader(target, join(target, preferredIndex(indexes)));
  const files = entries.filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 1) return readSafetensorsHeader(join(target, files[0]!));
  throw new SafetensorsNotFoundError(
    target,
    files.length === 0
      ? 'is a folder without .safetensors files (expected one model file, or shards with a *.safetensors.index.json)'
      : `is a folder with ${files.length} .safetensors files and no *.safetensors.index.json saying how they form one model`,
  );
}

/** True when a folder holds a model readModelHeader can read (shards with an index, or exactly one file). */
export function isModelFolder(path: string): boolean {
  try {
    if (!statSync(path).isDirectory()) return false;
    const entries = readdirSync(path);
    return entries.some((f) => f.endsWith('.safetensors.index.json')) || entries.filter((f) => f.endsWith('.safetensors')).length === 1;
  } catch {
    return false;
  }
}

// A diffusers folder has one index; an HF model folder may hold a second one for another precision (fp16 variants).
function preferredIndex(indexes: string[]): string {
  return indexes.find((f) => !/\.(fp16|bf16)\./.test(f)) ?? indexes[0]!;
}

function readShardedHeader(folder: string, indexPath: string): SafetensorsHeader {
  let weightMap: Record<string, unknown>;
  let indexMetadata: Record<string, unknown> = {};
  try {
    const json = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: unknown; metadata?: unknown };
    if (typeof json.weight_map !== 'object' || json.weight_map === null) throw new Error('it has no weight_map object');
    weightMap = json.weight_map as Record<string, unknown>;
    if (typeof json.metadata === 'object' && json.metadata !== null) indexMetadata = json.metadata as Record<string, unknown>;
  } catch (error) {
    throw new SafetensorsFormatError(indexPath, `not a safetensors index: ${(error as Error).message}`);
  }
  const shardNames = [...new Set(Object.values(weightMap))];
  for (const name of shardNames) {
    if (typeof name !== 'string' || name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      throw new SafetensorsFormatError(indexPath, `weight_map names a shard outside its folder: ${JSON.stringify(name)}`);
    }
  }
  const shards = (shardNames as string[]).sort().map((name) => {
    const file = join(folder, name);
    if (!existsSync(file)) {
      throw new SafetensorsNotFoundError(file, `shard missing: ${indexPath} lists it (an interrupted download?)`);
    }
    return readSafetensorsHeader(file);
  });
  const byName = new Map(shards.map((h) => [h.path, h]));
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    const header = byName.get(join(folder, shard as string))!;
    const info = header.tensors.get(tensor);
    if (!info) {
      throw new SafetensorsFormatError(header.path, `lacks tensor '${tensor}' that ${indexPath} places in it (a partial or mismatched shard)`);
    }
    tensors.set(tensor, { ...info, file: realpathSync(header.path) });
  }
  const metadata: Record<string, string> = {};
  for (const h of shards) Object.assign(metadata, h.metadata);
  for (const [k, v] of Object.entries(indexMetadata)) metadata[`index.${k}`] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    path: realpathSync(folder),
    fileSize: shards.reduce((sum, h) => sum + h.fileSize, 0),
    mtimeMs: Math.max(...shards.map((h) => h.mtimeMs)),
    headerLength: 0,
    dataStart: 0,
    metadata,
    tensors,
    shards: shards.map((h) => ({ path: realpathSync(h.path), size: h.fileSize, mtimeMs: h.mtimeMs })),
  };
}
