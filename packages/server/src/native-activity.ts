/**
 * Tells the main thread when the engine worker is inside a blocking onnxruntime call (session creation, run, release),
 * where terminating it aborts the whole process (exit 134: the addon throws into a dying thread). One Int32 in a
 * SharedArrayBuffer, slot 0:
 *
 * - `n >= 0`: the worker is inside `n` native calls (the worker adds 1 before each and subtracts 1 after);
 * - `-1` (STOPPING): the main thread has claimed the worker for terminate(); from then on entering native code
 *   throws instead, so no call can slip in between the main thread's check and its terminate().
 *
 * The worker wires every pack service that can report native activity (see `wireNativeActivity`); the main thread
 * only ever calls `claimForTermination`.
 */

/** Slot 0 value once the main thread has claimed the worker for termination. */
export const STOPPING = -1;

/** What a service calls around each native call that must not be cut short by terminate(). */
export interface NativeActivityTracker {
  /** Before entering native code. Throws once the thread is being terminated: do not enter then. */
  enter(): void;
  /** After the native call returned or threw; once per successful `enter()`. */
  leave(): void;
}

/**
 * A service that reports its own native calls: the engine worker hands it the tracker once, after the pack's
 * services are created.
 */
export interface NativeActivityReporter {
  nativeActivity(tracker: NativeActivityTracker): void;
}

/** The hook pair runtime's SessionPool exposes around each blocking onnxruntime call (create, run, release). */
interface NativeHooks {
  onNativeStart: ((...args: never[]) => void) | undefined;
  onNativeEnd: ((...args: never[]) => void) | undefined;
}

/** The worker's side of the counter. */
export function nativeActivityTracker(counter: Int32Array): NativeActivityTracker {
  return {
    enter() {
      for (;;) {
        const n = Atomics.load(counter, 0);
        if (n < 0) throw new Error('The engine worker is being stopped; native inference is refused');
        if (Atomics.compareExchange(counter, 0, n, n + 1) === n) return;
      }
    },
    leave() {
      Atomics.sub(counter, 0, 1);
    },
  };
}

/** True while the worker is inside a blocking native call (the main thread's cheap check). */
export function inNativeCode(counter: Int32Array): boolean {
  return Atomics.load(counter, 0) > 0;
}

/**
 * The main thread's side: claims the worker for terminate() when it is not inside native code. True: from now on
 * the worker cannot enter native code, so terminating it is safe. False: a native call is in progress; ask again later.
 */
export function claimForTermination(counter: Int32Array): boolean {
  const n = Atomics.compareExchange(counter, 0, 0, STOPPING);
  return n === 0 || n === STOPPING;
}

function hasNativeHooks(value: unknown): value is NativeHooks {
  return typeof value === 'object' && value !== null && 'onNativeStart' in value && 'onNativeEnd' in value;
}

/**
 * Wires the tracker into every service that can report native activity: a service with a `nativeActivity(tracker)`
 * method gets the tracker; a SessionPool (anything with `onNativeStart`/`onNativeEnd` hooks), given as the service itself or
 * as its `pool` property (nodes/comfy's ModelService), has the hooks chained so that any hooks already set run inside
 * the tracked window. Each object is wired once. Returns how many were wired.
 */
export function wireNativeActivity(services: Readonly<Record<string, unknown>>, tracker: NativeActivityTracker): number {
  const wired = new WeakSet<object>();
  let count = 0;
  for (const service of Object.values(services)) {
    if (typeof service !== 'object' || service === null || wired.has(service)) continue;
    const reporter = (service as Partial<NativeActivityReporter>).nativeActivity;
    if (typeof reporter === 'function') {
      wired.add(service);
      reporter.call(service, tracker);
      count++;
      continue;
    }
    const pool = hasNativeHooks(service) ? service : (service as { pool?: unknown }).pool;
    if (!hasNativeHooks(pool) || wired.has(pool)) continue;
    wired.add(pool);
    chainHooks(pool, tracker);
    count++;
  }
  return count;
}

function chainHooks(pool: NativeHooks, tracker: NativeActivityTracker): void {
  const before = pool.onNativeStart as ((...args: unknown[]) => void) | undefined;
  const after = pool.onNativeEnd as ((...args: unknown[]) => void) | undefined;
  pool.onNativeStart = ((...args: unknown[]) => {
    tracker.enter();
    try {
      before?.(...args);
    } catch (error) {
      tracker.leave();
      throw error;
    }
  }) as NativeHooks['onNativeStart'];
  pool.onNativeEnd = ((...args: unknown[]) => {
    try {
      after?.(...args);
    } finally {
      tracker.leave();
    }
  }) as NativeHooks['onNativeEnd'];
}
