/**
 * Shared by the architecture tests: write tensors to a safetensors file, load it through the real loader with
 * defaultArchitectures(), and run the graph in onnxruntime. Not exported from the package.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors, type SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { loadModelGraph, type LoadedModelGraph } from '../loader.ts';
import { fnv1a, mulberry32 } from '../random-weights.ts';
import type { Role } from '../contract.ts';
import type { SessionPool } from '../../session/session-pool.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { defaultArchitectures } from './index.ts';

export type TensorMap = Record<string, SafetensorsTensorInput>;

/** A fresh temporary folder for one test file. */
export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `${label}-`));
}

/** Float32 views of F32 tensors (what a reference needs). */
export function valuesOf(tensors: TensorMap): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (t.dtype !== 'F32' || !(t.data instanceof Float32Array)) throw new Error(`valuesOf: '${k}' is not F32`);
    out[k] = t.data;
  }
  return out;
}

export function withPrefix(prefix: string, tensors: TensorMap): TensorMap {
  return Object.fromEntries(Object.entries(tensors).map(([k, v]) => [prefix + k, v]));
}

/** Writes a file and loads it in `role` through the loader (detection, config, required weights, contract check). */
export async function writeAndLoad(
  dir: string,
  name: string,
  tensors: TensorMap,
  metadata: Record<string, string>,
  role: Role,
): Promise<LoadedModelGraph> {
  const file = join(dir, `${name}.safetensors`);
  writeSafetensors(file, tensors, metadata);
  return loadModelGraph(file, role, join(dir, 'graphs'), defaultArchitectures());
}

/** Runs a loaded graph once. */
export async function runGraph(pool: SessionPool, graph: LoadedModelGraph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await pool.acquire({ path: graph.path, externalDataDir: graph.externalDataDir }, { disablePrepacking: true });
  return pool.run(session, feeds);
}

/** sqrt(sum (a - e)^2 / sum e^2). */
export function normalisedError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** Standard-normal float32 values seeded by a label (mulberry32 + Box-Muller), for inputs. */
export function seededNormal(label: string, n: number, std = 1): Float32Array {
  const rand = mulberry32(fnv1a(label));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
  return out;
}
