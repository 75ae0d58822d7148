/** One measured figure, as written to bench/results.json. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  better: 'lower' | 'higher';
  /** The target, as text (e.g. "<= 5 µs"). */
  target?: string;
  /** A figure measured in the same run to compare against (machines here are noisy). */
  baseline?: { name: string; value: number };
  /** Filled by bench/run.ts: the bench file that measured it, and whether the target (when it parses) was met. */
  file?: string;
  met?: boolean;
}

export type BenchFile = () => Promise<BenchResult[]>;
