/**
 * torch.nn.Linear as a graph block, and the LoRA patches that run beside it as low-rank branches (never merged into
 * the weight). Conventions as in blocks.ts, which re-exports `linear` and `linearGroups`.
 */

import { SAFETENSORS_DTYPE_BYTES } from '../safetensors/dtypes.ts';
import type { GraphBuilder, Value } from './graph-builder.ts';
import type { WeightPart, WeightPatch } from './weights.ts';

/** Dimension of a weight from the builder's weight source; throws naming the key when absent. */
export function weightShape(g: GraphBuilder, key: string): readonly number[] {
  const info = g.weights?.info(key);
  if (!info) throw new Error(`${g.weights?.description ?? 'graph without weights'}: missing weight '${key}'`);
  return info.shape;
}

export function hasWeight(g: GraphBuilder, key: string): boolean {
  return g.weights?.has(key) ?? false;
}

/**
 * torch.nn.Linear: y = x W^T + b over the last axis, for inputs of any rank.
 * Input [..., in] -> output [..., out]. Weight `<prefix>.weight` [out, in]; bias `<prefix>.bias` [out] if present
 * (or required when `bias: true`). Gemm with transB reads the [out, in] weight as stored, so it is never transposed
 * into a copy. LoRA patches of the weight (WeightSource.patches) run as low-rank branches beside it, see loraDeltas.
 */
export function linear(g: GraphBuilder, x: Value, prefix: string, options: { bias?: boolean } = {}): Value {
  return linearRows(g, x, prefix, undefined, options)[0]!;
}

/**
 * A Linear whose output is used in row groups (FLUX's single-block linear1: q/k/v, then the MLP input): one Gemm,
 * split once, and each LoRA patch added only to the groups its rows cover, so USO's LoRA on linear1's q/k/v rows is
 * never padded to the whole output. `rows` must add up to the layer's outputs.
 * Input [..., in] -> one output [..., rows_i] per group.
 */
export function linearGroups(g: GraphBuilder, x: Value, prefix: string, rows: readonly number[], options: { bias?: boolean } = {}): Value[] {
  return linearRows(g, x, prefix, rows, options);
}

function linearRows(g: GraphBuilder, x: Value, prefix: string, groups: readonly number[] | undefined, options: { bias?: boolean }): Value[] {
  const key = `${prefix}.weight`;
  const [out, inFeatures] = weightShape(g, key) as [number, number];
  const sizes = groups ?? [out];
  if (sizes.reduce((a, b) => a + b, 0) !== out) throw new Error(`'${prefix}': row groups ${sizes.join(' + ')} do not add up to its ${out} outputs`);
  const useBias = options.bias ?? hasWeight(g, `${prefix}.bias`);
  const patches = g.weights?.patches?.(key) ?? [];
  const flat = g.reshape(x, [-1, inFeatures], `${prefix}.flatten`); // [M, in]
  const parts = g.weights?.rowParts?.(key);
  let y: Value;
  if (parts) {
    y = composedGemm(g, flat, parts, useBias ? g.weights?.rowParts?.(`${prefix}.bias`) ?? `${prefix}.bias` : undefined, prefix); // [M, out]
  } else {
    const w = g.weight(key, { lowRankBranch: true }); // [out, in]
    const b = useBias ? g.weight(`${prefix}.bias`) : undefined; // [out]
    y = g.gemm(flat, w, { transB: true, name: `${prefix}.gemm`, ...(b ? { c: b } : {}) }); // [M, out]
  }
  const pieces = sizes.length === 1 ? [y] : g.split(y, sizes, -1, `${prefix}.groups`); // [M, rows_j] each
  patches.forEach((patch, i) => {
    for (const { group, delta } of loraDeltas(g, flat, patch, out, sizes, `${prefix}.lora${i}`)) {
      pieces[group] = g.add(pieces[group]!, delta, `${prefix}.with_lora${i}${sizes.length === 1 ? '' : `.group${group}`}`); // [M, rows_j]
    }
  });
  const lead = g.shape(x, { end: -1, name: `${prefix}.lead_shape` }); // [rank - 1]
  return pieces.map((piece, j) => {
    const outShape = g.concat([lead, g.constInt64([sizes[j]!])], 0, sizes.length === 1 ? `${prefix}.out_shape` : `${prefix}.out_shape${j}`);
    return g.reshape(piece, outShape, sizes.length === 1 ? prefix : `${prefix}.group${j}`); // [..., rows_j]
  });
}

/**
 * A Linear whose weight is stored in row ranges (a fused qkv kept as diffusers' separate q, k and v): one Gemm per
 * part, outputs concatenated, so the parts are never copied into one tensor. `bias` is the bias's own parts (each
 * matching a weight part's rows) or the key of a whole bias added after the concat. x [M, in] -> [M, sum of rows].
 */
function composedGemm(g: GraphBuilder, x: Value, parts: readonly WeightPart[], bias: readonly WeightPart[] | string | undefined, prefix: string): Value {
  const biasParts = Array.isArray(bias) ? bias : undefined;
  if (biasParts && biasParts.length !== parts.length) throw new Error(`'${prefix}': ${parts.length} weight parts but ${biasParts.length} bias parts`);
  const outs = parts.map((part, i) =>
    g.gemm(x, g.weightPart(part), { transB: true, name: `${prefix}.gemm${i}`, ...(biasParts ? { c: g.weightPart(biasParts[i]!) } : {}) }),
  ); // each [M, rows_i]
  const joined = g.concat(outs, -1, `${prefix}.gemm`); // [M, out]
  return typeof bias === 'string' ? g.add(joined, g.weight(bias), `${prefix}.biased`) : joined;
}

/**
 * A LoRA as a run-time branch: strength * scale * (x down^T) up^T on the patch's rows of the layer's output, split
 * over the row groups those rows fall in (zero elsewhere in a group). The down product is shared; each group gets the
 * up rows it covers, read in place from the stored factor. Costs two thin Gemms per call instead of a merged copy of
 * W; the strength comes from the graph input `lora_strengths` when the patch names a slot. x [M, in] -> for each
 * group touched, its delta [M, rows_j].
 */
function loraDeltas(g: GraphBuilder, x: Value, patch: WeightPatch, out: number, sizes: readonly number[], name: string): { group: number; delta: Value }[] {
  const rows = patch.up.info.shape[0]!;
  const offset = patch.rowOffset ?? 0;
  if (offset < 0 || offset + rows > out) throw new Error(`LoRA '${patch.name}' rows ${offset}..${offset + rows} exceed the layer's ${out} outputs`);
  const down = g.lowRankFactor(`${patch.name}.down`, patch.down); // [rank, in]
  let factor = g.scalar(patch.scale); // []
  if (patch.strengthSlot !== undefined) factor = g.mul(g.loraStrength(patch.strengthSlot), factor, `${name}.factor`);
  const low = g.mul(g.gemm(x, down, { transB: true, name: `${name}.down` }), factor, `${name}.scaled`); // [M, rank]
  const deltas: { group: number; delta: Value }[] = [];
  let groupStart = 0;
  sizes.forEach((size, group) => {
    const groupEnd = groupStart + size;
    const from = Math.max(groupStart, offset);
    const to = Math.min(groupEnd, offset + rows);
    if (from < to) {
      const whole = from === offset && to === offset + rows;
      const up = whole ? g.lowRankFactor(`${patch.name}.up`, patch.up) : g.lowRankFactor(`${patch.name}.up[${from - offset}:${to - offset}]`, factorRows(patch.up, from - offset, to - offset)); // [to - from, rank]
      const suffix = sizes.length === 1 ? '' : `.group${group}`;
      let delta = g.gemm(low, up, { transB: true, name: `${name}.up${suffix}` }); // [M, to - from]
      if (to - from !== size) {
        delta = g.op('Pad', [delta, g.constInt64([0, from - groupStart, 0, groupEnd - to])], { name: `${name}.placed${suffix}` }); // [M, size]
      }
      deltas.push({ group, delta });
    }
    groupStart = groupEnd;
  });
  return deltas;
}

/** Rows [from, to) of a stored 2-D LoRA factor, as a view of its bytes (rows are contiguous). */
function factorRows(factor: WeightPatch['up'], from: number, to: number): WeightPatch['up'] {
  const [, cols] = factor.info.shape as [number, number];
  const rowBytes = cols * SAFETENSORS_DTYPE_BYTES[factor.info.dtype];
  const info = { dtype: factor.info.dtype, shape: [to - from, cols] };
  const data = factor.data;
  if (data.kind === 'external') return { info, data: { kind: 'external', file: data.file, offset: data.offset + from * rowBytes, length: (to - from) * rowBytes } };
  return { info, data: { kind: 'inline', bytes: data.bytes.subarray(from * rowBytes, to * rowBytes) } };
}
