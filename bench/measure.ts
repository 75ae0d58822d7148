/**
 * Timing helpers shared by the bench files. The machines here are shared and noisy, so every helper reports the best
 * round (the least disturbed one, as Python's timeit recommends) rather than a mean.
 */

/** How {@link bestMs} times a function. */
export interface BestMsOptions {
  /** Timed calls; the fastest one is the result. Default 5. */
  rounds?: number;
  /** Untimed calls made first (JIT, caches, lazy allocation). Default 1. */
  warmup?: number;
}

/** Fastest single call of `fn`, in milliseconds, over `rounds` timed calls after `warmup` untimed ones. */
export async function bestMs(fn: () => unknown | Promise<unknown>, options: BestMsOptions = {}): Promise<number> {
  const { rounds = 5, warmup = 1 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** How {@link opsPerSecond} measures a rate. */
export interface RateOptions {
  /** Untimed calls made first. */
  warmup: number;
  /** Calls made between two clock reads, so that reading the clock stays out of the figure. */
  batch: number;
  /**
   * Await every call. Needed for functions that return promises; a synchronous figure compared against an async one
   * should be awaited too, so both pay the same microtask per call. Default false.
   */
  awaitEach?: boolean;
  /** Timed rounds; the fastest rate is the result. Default 5. */
  rounds?: number;
  /** Each round runs whole batches until at least this many milliseconds have passed. Default 300. */
  roundMs?: number;
}

/** Best rate of `fn` in calls per second over `rounds` rounds of whole batches. */
export async function opsPerSecond(fn: () => unknown, options: RateOptions): Promise<number> {
  const { warmup, batch, awaitEach = false, rounds = 5, roundMs = 300 } = options;
  // Two loops rather than one conditional await: awaiting a plain value would add a microtask to every synchronous call.
  const runBatch = async (count: number) => {
    if (awaitEach) for (let i = 0; i < count; i++) await fn();
    else for (let i = 0; i < count; i++) fn();
  };
  await runBatch(warmup);
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMs) {
      await runBatch(batch);
      n += batch;
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (n * 1000) / elapsed);
  }
  return best;
}

/** The `p`-th percentile (0..100) of `values` by the nearest-rank-below rule; `percentile(xs, 50)` is the median. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
