/**
 * What the demo architectures share: the metadata that marks a file as a USO Studio demo model, the helpers every
 * demo `detect()` uses, and small graph helpers that several demo graphs need.
 *
 * Demo files carry `__metadata__` {"uso_studio.demo": "true", "uso_studio.architecture": "<id>", ...}. Detection asks
 * for the demo flag plus the architecture's own key/shape signature, so a truncated real checkpoint is never mistaken
 * for a demo one (real FLUX, T5 or SigLIP files have no such flag).
 */

import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { GraphBuilder, Value } from '../../onnx/graph-builder.ts';

/** Metadata key: "true" on every demo file. */
export const DEMO_FLAG_KEY = 'uso_studio.demo';
/** Metadata key: the architecture id of a split file, or `uso-demo-flux-checkpoint` for the combined checkpoint. */
export const DEMO_ARCHITECTURE_KEY = 'uso_studio.architecture';

/** Architecture ids of the demo set (and the real USO projector). */
export const DEMO_IDS = {
  dit: 'uso-demo-dit',
  vaeEncoder: 'uso-demo-vae-encoder',
  vaeDecoder: 'uso-demo-vae-decoder',
  vision: 'uso-demo-siglip-vision',
  t5: 'uso-demo-t5',
  clip: 'uso-demo-clip',
  projector: 'uso-projector',
} as const;

/** True when the header's metadata marks the file as a USO Studio demo model. */
export function isDemoFile(header: SafetensorsHeader): boolean {
  return header.metadata[DEMO_FLAG_KEY] === 'true';
}

/** Shape of a key in a header, or undefined. */
export function shapeOf(header: SafetensorsHeader, key: string): readonly number[] | undefined {
  return header.tensors.get(key)?.shape;
}

/** Shape of a key that must exist; throws a message naming the file and key. */
export function requireShape(header: SafetensorsHeader, key: string, rank: number): number[] {
  const shape = shapeOf(header, key);
  if (!shape) throw new Error(`${header.path}: missing weight '${key}'`);
  if (shape.length !== rank) throw new Error(`${header.path}: '${key}' has shape [${shape.join(', ')}], expected rank ${rank}`);
  return [...shape];
}

/** True when some key starts with `prefix`. */
export function hasKeyWithPrefix(header: SafetensorsHeader, prefix: string): boolean {
  for (const key of header.tensors.keys()) if (key.startsWith(prefix)) return true;
  return false;
}

/**
 * Size of axis `axis` of `x` as a float32 scalar tensor of shape [1] (e.g. the token count M of ref_img, which may
 * be 0). Nodes `<name>.shape`, `<name>`.
 */
export function axisSizeFloat(g: GraphBuilder, x: Value, axis: number, name: string): Value {
  const dim = g.shape(x, { start: axis, end: axis + 1, name: `${name}.shape` }); // [1] int64
  return g.cast(dim, 'float32', name); // [1]
}

/**
 * Per-row max and min over axis 1 of `x` [B, M, C] that stay finite when M is 0: a sentinel row is appended first
 * (-1e9 for the max, +1e9 for the min), so an empty axis gives the sentinels instead of an error or ±inf.
 * -> max, min each [B, 1, C].
 */
export function safeMaxMin(g: GraphBuilder, x: Value, name: string): { max: Value; min: Value } {
  const first = g.slice(x, [0], [1], [1], undefined, `${name}.first_row_src`); // [B, 1, C] or [B, 0, C]
  // A [B, 1, C] row of zeros even when x has no rows: reduce over the (possibly empty) axis with keepdims.
  const zeroRow = g.mul(g.reduceSum(first, [1], true, `${name}.zero_row_sum`), g.scalar(0), `${name}.zero_row`); // [B, 1, C]
  const lowRow = g.add(zeroRow, g.scalar(-1e9), `${name}.low_row`); // [B, 1, C]
  const highRow = g.add(zeroRow, g.scalar(1e9), `${name}.high_row`); // [B, 1, C]
  const forMax = g.concat([x, lowRow], 1, `${name}.max_src`); // [B, M+1, C]
  const forMin = g.concat([x, highRow], 1, `${name}.min_src`); // [B, M+1, C]
  const max = g.op('ReduceMax', [forMax, g.constInt64([1])], { name: `${name}.max`, attrs: { keepdims: { type: 'int', value: 1 } } });
  const min = g.op('ReduceMin', [forMin, g.constInt64([1])], { name: `${name}.min`, attrs: { keepdims: { type: 'int', value: 1 } } });
  return { max, min }; // [B, 1, C] each
}
