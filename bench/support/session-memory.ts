/**
 * Session creation measured in a child process of its own (bench/support/session-create-once.ts): wall time and the
 * peak RSS above the process's baseline after onnxruntime is loaded. Every "session creation: time and peak RSS"
 * figure in the benches comes from here, so they are comparable.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ModelRef, SessionOptions } from '../../packages/runtime/src/index.ts';

const CHILD = fileURLToPath(new URL('./session-create-once.ts', import.meta.url));

export interface SessionCreationFigures {
  readonly ms: number;
  /** CPU time (user + system, all threads) of the creation, ms. */
  readonly cpuMs: number;
  /** Peak RSS during creation minus the RSS before it, MiB. */
  readonly peakAboveBaselineMiB: number;
  /** RSS once the session exists minus the RSS before it, MiB (file-backed mapped pages touched so far included). */
  readonly heldMiB: number;
}

export function measureSessionCreation(model: ModelRef, options: SessionOptions = {}): SessionCreationFigures {
  const out = execFileSync(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(model), JSON.stringify(options)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; cpuMs: number; baselineRssKiB: number; maxRssKiB: number; afterRssKiB: number };
  return {
    ms: r.ms,
    cpuMs: r.cpuMs,
    peakAboveBaselineMiB: (r.maxRssKiB - r.baselineRssKiB) / 1024,
    heldMiB: (r.afterRssKiB - r.baselineRssKiB) / 1024,
  };
}
