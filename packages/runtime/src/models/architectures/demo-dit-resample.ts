/**
 * The demo DiT's reference resampling: reference tokens scattered into a sub-cell canvas, resampled onto the target's
 * sub-cell grid, gathered back into target tokens (see resampleReferences).
 *
 * Index arithmetic is int64 throughout. The flat canvas index batch * plane + row * width + col passes 2^24 (the
 * last integer float32 holds exactly) at a 16384² image or a large batch, and a float32 index then lands on the
 * wrong cell or outside the canvas (onnxruntime: `Gather ... idx=16777216`). Only the ids themselves, token
 * positions far below 2^24, are read as floats; they are rounded once and everything after is integer.
 */

import type { GraphBuilder, Value } from '../../onnx/graph-builder.ts';
import { safeMaxMin } from './demo-common.ts';

/** (sub-row, sub-col) of sub-cell k = q*4 + s inside a token's 4x4 grid: (2dy + qy, 2dx + qx). */
function subCellGrid(): number[] {
  const out: number[] = [];
  for (let k = 0; k < 16; k++) {
    const q = k >> 2;
    const s = k & 3;
    out.push(2 * (s >> 1) + (q >> 1), 2 * (s & 1) + (q & 1));
  }
  return out;
}

/** A scalar (shape []) from element `index` of a small tensor, any dtype. */
function scalarAt(g: GraphBuilder, x: Value, index: number, name: string): Value {
  return g.reshape(g.slice(g.reshape(x, [-1], `${name}.flat`), [index], [index + 1], [0], undefined, `${name}.pick`), [], name);
}

/** Float ids that hold integers -> int64, rounding to the nearest integer first. */
function roundToInt64(g: GraphBuilder, x: Value, name: string): Value {
  return g.cast(g.op('Floor', [g.add(x, g.scalar(0.5), `${name}.half`)], { name: `${name}.floor` }), 'int64', name);
}

/** Where the sub-cells of a set of tokens sit in a canvas spanning their ids: flat int64 indices and the canvas size. */
export interface SubCellCanvas {
  /** Flat canvas index (batch * plane + row * width + col) of every sub-cell, int64 [B, M, 16, 1]. */
  readonly index: Value;
  /** Canvas height and width in sub-cells: float scalars (for the resampling weights) and int64 [1] (for shapes). */
  readonly height: Value;
  readonly width: Value;
  readonly heightInt: Value;
  readonly widthInt: Value;
  /** Rows of the flat canvas, batch * height * width, int64 [1]. */
  readonly rows: Value;
}

/**
 * The sub-cell canvas of ids [B, M, 3]: its extent is the (row, col) range of the ids over the whole batch, 4x4
 * sub-cells per token. Safe for M = 0 (a 1x1-token canvas).
 */
export function subCellCanvas(g: GraphBuilder, ids: Value, name: string): SubCellCanvas {
  const rc = g.slice(ids, [1], [3], [2], undefined, `${name}_row_col`); // [B, M, 2]
  const { max, min } = safeMaxMin(g, rc, `${name}_range`); // [B, 1, 2]
  const keep = { keepdims: { type: 'int' as const, value: 1 } };
  const lo = g.op('ReduceMin', [min, g.constInt64([0])], { name: `${name}_min`, attrs: keep }); // [1, 1, 2]
  const hi = g.op('ReduceMax', [max, g.constInt64([0])], { name: `${name}_max`, attrs: keep }); // [1, 1, 2]
  const extentF = g.op('Max', [g.add(g.sub(hi, lo, `${name}_span`), g.scalar(1), `${name}_extent_raw`), g.scalar(1)], { name: `${name}_extent` }); // [1, 1, 2]
  const size = g.mul(roundToInt64(g, extentF, `${name}_extent_int`), g.constInt64([4], []), `${name}_size`); // [1, 1, 2] int64
  const rel = g.mul(roundToInt64(g, g.sub(rc, lo, `${name}_rel_f`), `${name}_rel`), g.constInt64([4], []), `${name}_rel4`); // [B, M, 2] int64
  const grid = g.constInt64(subCellGrid(), [16, 2], `${name}_sub_grid`); // [16, 2] int64
  const at = g.add(g.unsqueeze(rel, [2], `${name}_rel5`), grid, `${name}_cells`); // [B, M, 16, 2] int64
  const [row, col] = g.split(at, [1, 1], -1, `${name}_cell_rc`); // [B, M, 16, 1] x 2
  const height = scalarAt(g, size, 0, `${name}_height_int`); // [] int64
  const width = scalarAt(g, size, 1, `${name}_width_int`); // [] int64
  const batch = g.shape(ids, { start: 0, end: 1, name: `${name}_batch_dim` }); // [1] int64
  const batchIndex = g.reshape(
    g.op('Range', [g.constInt64([0], []), scalarAt(g, batch, 0, `${name}_batch_scalar`), g.constInt64([1], [])], { name: `${name}_batch_range` }),
    [-1, 1, 1, 1],
    `${name}_batch_index`,
  ); // [B, 1, 1, 1] int64
  const plane = g.mul(height, width, `${name}_plane`); // [] int64
  const index = g.add(
    g.add(g.mul(batchIndex, plane, `${name}_batch_offset`), g.mul(row!, width, `${name}_row_offset`), `${name}_offset`),
    col!,
    `${name}_flat`,
  ); // [B, M, 16, 1] int64
  return {
    index,
    height: g.cast(height, 'float32', `${name}_height`),
    width: g.cast(width, 'float32', `${name}_width`),
    heightInt: g.reshape(height, [1], `${name}_hc`),
    widthInt: g.reshape(width, [1], `${name}_wc`),
    rows: g.mul(batch, g.reshape(plane, [1], `${name}_plane1`), `${name}_rows`),
  };
}

/**
 * Row-stochastic Gaussian resampling weights from a grid of `from` cells onto `to` cells (both spanning [0, 1]):
 * softmax over j of -((i + 0.5)/to - (j + 0.5)/from)^2 * 2 min(from, to)^2. from/to are float scalars (sub-cells
 * per axis, far below 2^24).
 * -> [to, from].
 */
function resampleWeights(g: GraphBuilder, to: Value, from: Value, name: string): Value {
  const zero = g.scalar(0);
  const one = g.scalar(1);
  const centres = (n: Value, label: string) =>
    g.div(g.add(g.op('Range', [zero, n, one], { name: `${name}.${label}_index` }), g.scalar(0.5), `${name}.${label}_mid`), n, `${name}.${label}_pos`); // [n]
  const p = g.unsqueeze(centres(to, 'to'), [1], `${name}.to_col`); // [to, 1]
  const q = g.unsqueeze(centres(from, 'from'), [0], `${name}.from_row`); // [1, from]
  const d = g.sub(p, q, `${name}.diff`); // [to, from]
  const narrow = g.op('Min', [to, from], { name: `${name}.narrow` }); // []
  const invTau = g.mul(g.mul(narrow, narrow, `${name}.narrow_sq`), g.scalar(2), `${name}.inv_tau`); // []
  const logits = g.neg(g.mul(g.mul(d, d, `${name}.diff_sq`), invTau, `${name}.scaled`), `${name}.logits`); // [to, from]
  return g.softmax(logits, -1, name); // [to, from]
}

/**
 * Resamples reference tokens onto the target tokens at sub-cell resolution. Each token's 64 features are 4 groups
 * (colours 0..2 and the unused channels) x 16 sub-cells on a 4x4 grid; reference sub-cells are scattered (summed) into
 * a canvas spanning the references' id extent, with a count channel; a separable Gaussian resampling (row weights
 * @ canvas @ column weights^T) maps it onto the target's sub-cell grid, the count normalises it (holes between
 * diagonally placed references borrow from their neighbours), and each target token gathers its 16 sub-cells back.
 * Canvas sizes use the extents over the whole batch (ComfyUI gives every batch item the same ids).
 * ref [B, R, 64], ref ids [B, R, 3], img ids [B, N, 3] -> [B, N, 64]. Finite (and unused) when R = 0.
 */
export function resampleReferences(g: GraphBuilder, ref: Value, refIds: Value, imgIds: Value): Value {
  const n = 'ref_canvas';
  const src = subCellCanvas(g, refIds, `${n}.ref`);
  const dst = subCellCanvas(g, imgIds, `${n}.img`);

  // Scatter the reference sub-cells (4 feature groups + a count) into the canvas.
  const groups = g.transpose(g.reshape(ref, [0, 0, 4, 16], `${n}.groups`), [0, 1, 3, 2], `${n}.cells_values`); // [B, R, 16, 4]
  const ones = g.add(g.mul(g.slice(groups, [0], [1], [3], undefined, `${n}.count_src`), g.scalar(0), `${n}.count_zero`), g.scalar(1), `${n}.count`); // [B, R, 16, 1]
  const updates = g.reshape(g.concat([groups, ones], 3, `${n}.updates5`), [-1, 5], `${n}.updates`); // [B*R*16, 5]
  const indices = g.reshape(src.index, [-1, 1], `${n}.indices`); // [B*R*16, 1] int64
  const canvasShape = g.concat([src.rows, g.constInt64([5])], 0, `${n}.canvas_shape`); // [2]
  const empty = g.op('ConstantOfShape', [canvasShape], { name: `${n}.empty` }); // [B*Hc*Wc, 5]
  const scattered = g.op('ScatterND', [empty, indices, updates], { name: `${n}.scatter`, attrs: { reduction: { type: 'string', value: 'add' } } }); // [B*Hc*Wc, 5]
  const canvas4 = g.reshape(scattered, g.concat([g.constInt64([-1]), src.heightInt, src.widthInt, g.constInt64([5])], 0, `${n}.canvas4_shape`), `${n}.canvas_bhwc`); // [B, Hc, Wc, 5]
  const canvas = g.transpose(canvas4, [0, 3, 1, 2], `${n}.canvas`); // [B, 5, Hc, Wc]

  // Separable resampling onto the target sub-cell grid.
  const rowsW = resampleWeights(g, dst.height, src.height, `${n}.row_weights`); // [Ht, Hc]
  const colsW = resampleWeights(g, dst.width, src.width, `${n}.col_weights`); // [Wt, Wc]
  const rowsDone = g.matMul(rowsW, canvas, `${n}.rows_resampled`); // [B, 5, Ht, Wc]
  const both = g.matMul(rowsDone, g.transpose(colsW, [1, 0], `${n}.col_weights_t`), `${n}.resampled`); // [B, 5, Ht, Wt]
  const [values, count] = g.split(both, [4, 1], 1, `${n}.split`); // [B, 4, Ht, Wt], [B, 1, Ht, Wt]
  const normalised = g.div(values!, g.op('Max', [count!, g.scalar(1e-6)], { name: `${n}.count_floor` }), `${n}.normalised`); // [B, 4, Ht, Wt]

  // Each target token gathers its 16 sub-cells.
  const table = g.reshape(g.transpose(normalised, [0, 2, 3, 1], `${n}.table_bhwc`), [-1, 4], `${n}.table`); // [B*Ht*Wt, 4]
  const picked = g.gather(table, g.squeeze(dst.index, [3], `${n}.img_index`), 0, `${n}.gathered`); // [B, N, 16, 4]
  return g.reshape(g.transpose(picked, [0, 1, 3, 2], `${n}.token_major`), [0, 0, 64], n); // [B, N, 64]
}
