/**
 * torchsde's `BrownianTree(t0, w0=0, t1, entropy)` as ComfyUI's SDE samplers use it, reimplemented from torchsde's
 * published algorithm: a BrownianInterval with `halfway_tree=True`, `tol=1e-6`, `pool_size=24` and no Levy area.
 *
 * The path on [t0, t1] is a binary tree of intervals, each split exactly at its (rounded) midpoint:
 * 1. Times are quantised like torchsde: Python's `round(t, 6)` (tol 1e-6 -> 6 decimals).
 * 2. The root's increment is W = randn(seed_W) * sqrt(t1 - t0), seed_W = SeedSequence(entropy, pool 24).state[0].
 * 3. A node [s, e] with increment W splits at m = round((s + e) / 2). With dl = m - s, dr = e - m, h = e - s, the
 *    left child gets the Brownian bridge sample  dl W / h + sqrt(dl dr / h) Z  and the right child W - left, where
 *    Z = randn(seed) and seed = SeedSequence(entropy, spawn_key=(key, depth), pool 24).state[0]; the root has key 0,
 *    depth 0, and children have keys 2 key (left) and 2 key + 1 (right) one level deeper.
 * 4. A query [ta, tb] (clamped to [t0, t1]) is the ordered sum of the largest tree intervals that tile it.
 *
 * Each node's value is a pure function of its position, so results do not depend on which or in what order intervals
 * were queried before (torchsde's LRU cache only saves time; the cache here does the same). Arithmetic repeats
 * torch's float32 roundings: the Python scalars are rounded to float32 before each elementwise product.
 */

import { SeedSequence } from './seed-sequence.ts';
import { TorchGenerator } from './torch-randn.ts';

const f = Math.fround;
/** torchsde's pool_size default for BrownianTree. */
const POOL_SIZE = 24;
/**
 * Node increments kept. torchsde keeps 45; a descending sampler schedule touches about 40 nodes per query, and with
 * ~100 kept the next query finds the shared boundary nodes still there (half the normals drawn for a 28-step
 * schedule). The values never depend on it; memory does, so the count shrinks for large latents.
 */
const CACHE_BYTES = 96 * 1024 * 1024;
function defaultCacheNodes(length: number): number {
  return Math.max(45, Math.min(128, Math.floor(CACHE_BYTES / (4 * Math.max(1, length)))));
}

/**
 * Standard normals for one seed: `torch.randn(length, generator=torch.Generator(device).manual_seed(seed))`.
 * The CPU stream is reproduced bit for bit by {@link TorchGenerator}.
 */
export type SeededNormals = (seed: number, length: number) => Float32Array;

/** torch's CPU generator: a fresh MT19937 per seed. */
export const cpuSeededNormals: SeededNormals = (seed, length) => new TorchGenerator(seed).randn([length]);

/**
 * Python's `round(x, 6)`: the nearest double to x rounded to 6 decimals, exact ties to even. JS's toFixed rounds the
 * exact binary value correctly too, but sends exact ties away from zero; those ties are the doubles x with x * 128 an
 * odd integer (x * 1e6 = k + 1/2 needs 5^6 to divide the odd numerator).
 */
export function roundTo6Decimals(x: number): number {
  if (!Number.isFinite(x)) return x;
  const x128 = x * 128;
  if (Number.isInteger(x128) && Math.abs(x128) % 2 === 1) {
    const twiceScaled = Math.abs(x128) * 15625; // 2 |x| 1e6, an odd integer
    const lower = (twiceScaled - 1) / 2;
    const even = lower % 2 === 0 ? lower : lower + 1;
    return Math.sign(x) * Number(`${even}e-6`);
  }
  return Number(x.toFixed(6));
}

class TreeNode {
  mid: number | null = null;
  left: TreeNode | null = null;
  right: TreeNode | null = null;
  /** Seed of the bridge normals used to split this node. */
  bridgeSeed = 0;

  constructor(
    readonly start: number,
    readonly end: number,
    readonly key: bigint,
    readonly depth: number,
    readonly parent: TreeNode | null,
  ) {}
}

/**
 * One Brownian path of `length` independent coordinates on [t0, t1], fixed by `entropy`.
 *
 * @example
 * const tree = new BrownianTree(0.0291, 1, 4096, 3407n);
 * const w = tree.increment(0.5, 0.8); // W(0.8) - W(0.5), each coordinate ~ N(0, 0.3)
 */
export class BrownianTree {
  readonly t0: number;
  readonly t1: number;
  private readonly root: TreeNode;
  private readonly rootIncrement: Float32Array;
  private readonly cache = new Map<TreeNode, Float32Array>();

  /**
   * @param t0 start time (the tree's rounded start is round(t0, 6))
   * @param t1 end time, >= t0 (torchsde allows an empty span; every increment is then 0)
   * @param length values per increment (the latent's element count)
   * @param entropy the seed (ComfyUI passes the KSampler seed), a non-negative integer
   * @param normals where the normals come from (torch's CPU stream by default)
   * @param cacheNodes how many node increments to keep (speed only)
   */
  constructor(
    t0: number,
    t1: number,
    readonly length: number,
    readonly entropy: number | bigint,
    private readonly normals: SeededNormals = cpuSeededNormals,
    private readonly cacheNodes = defaultCacheNodes(length),
  ) {
    if (!(Number.isFinite(t0) && Number.isFinite(t1) && t0 <= t1)) {
      throw new RangeError(`BrownianTree: need finite t0 <= t1, got [${t0}, ${t1}]`);
    }
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`BrownianTree: length must be a non-negative integer, got ${length}`);
    this.root = new TreeNode(roundTo6Decimals(t0), roundTo6Decimals(t1), 0n, 0, null);
    this.t0 = this.root.start;
    this.t1 = this.root.end;
    const rootSeed = new SeedSequence(entropy, [], POOL_SIZE).generateState(1)[0]!;
    // torchsde scales by sqrt of the unrounded span.
    const scale = f(Math.sqrt(t1 - t0));
    const z = this.normals(rootSeed, length);
    this.rootIncrement = new Float32Array(length);
    for (let k = 0; k < length; k++) this.rootIncrement[k] = f(z[k]! * scale);
  }

  /** W(tb) - W(ta) for ta <= tb, both clamped into [t0, t1]; a new array the caller may keep. */
  increment(ta: number, tb: number): Float32Array {
    const a = Math.min(Math.max(ta, this.t0), this.t1);
    const b = Math.min(Math.max(tb, this.t0), this.t1);
    if (!(a <= b)) throw new RangeError(`BrownianTree: query times must satisfy ta <= tb, got ${ta} and ${tb}`);
    const out = new Float32Array(this.length);
    if (a === b) return out;
    const pieces: TreeNode[] = [];
    this.tile(this.root, roundTo6Decimals(a), roundTo6Decimals(b), pieces);
    out.set(this.valueOf(pieces[0]!));
    for (let p = 1; p < pieces.length; p++) {
      const w = this.valueOf(pieces[p]!);
      for (let k = 0; k < out.length; k++) out[k] = out[k]! + w[k]!;
    }
    return out;
  }

  /** Appends the largest tree nodes tiling [a, b] (inside `node`), left to right. */
  private tile(node: TreeNode, a: number, b: number, out: TreeNode[]): void {
    if (a === node.start && b === node.end) {
      out.push(node);
      return;
    }
    const { left, right, mid } = this.split(node);
    if (b <= mid) this.tile(left, a, b, out);
    else if (a >= mid) this.tile(right, a, b, out);
    else {
      this.tile(left, a, mid, out);
      this.tile(right, mid, b, out);
    }
  }

  private split(node: TreeNode): { left: TreeNode; right: TreeNode; mid: number } {
    if (node.mid === null) {
      const mid = roundTo6Decimals(0.5 * (node.end + node.start));
      node.mid = mid;
      node.bridgeSeed = new SeedSequence(this.entropy, [node.key, BigInt(node.depth)], POOL_SIZE).generateState(1)[0]!;
      node.left = new TreeNode(node.start, mid, 2n * node.key, node.depth + 1, node);
      node.right = new TreeNode(mid, node.end, 2n * node.key + 1n, node.depth + 1, node);
    }
    return { left: node.left!, right: node.right!, mid: node.mid };
  }

  /** A node's increment, bridged down from its parent's (cached, least recently used dropped first). */
  private valueOf(node: TreeNode): Float32Array {
    const parent = node.parent;
    if (parent === null) return this.rootIncrement;
    const hit = this.cache.get(node);
    if (hit) {
      this.cache.delete(node);
      this.cache.set(node, hit);
      return hit;
    }
    const w = this.valueOf(parent);
    const mid = parent.mid!;
    const invSpan = 1 / (parent.end - parent.start);
    const dl = mid - parent.start;
    const dr = parent.end - mid;
    const dlF = f(dl);
    const invF = f(invSpan);
    const stdF = f(Math.sqrt(dl * dr * invSpan));
    const z = this.normals(parent.bridgeSeed, this.length);
    // Both children come from the same normals: fill and cache the pair.
    const left = new Float32Array(this.length);
    const right = new Float32Array(this.length);
    for (let k = 0; k < left.length; k++) {
      const leftW = f(f(f(dlF * w[k]!) * invF) + f(stdF * z[k]!));
      left[k] = leftW;
      right[k] = f(w[k]! - leftW);
    }
    this.remember(parent.left!, left);
    this.remember(parent.right!, right);
    return parent.left === node ? left : right;
  }

  private remember(node: TreeNode, value: Float32Array): void {
    this.cache.delete(node);
    this.cache.set(node, value);
    while (this.cache.size > this.cacheNodes) this.cache.delete(this.cache.keys().next().value!);
  }
}
