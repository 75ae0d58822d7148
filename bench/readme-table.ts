/**
 * The root README's benchmark table is generated from bench/results.json, so the figures it shows are always the
 * ones last measured: the table under "## Benchmarks" (from its `| benchmark |` header to the first line that is not
 * a table row) is replaced as a whole.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchResult } from './types.ts';

/** Three significant figures or so: whole numbers from 100, two decimals from 1. */
export function formatNumber(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

export function benchmarkTable(results: readonly BenchResult[]): string[] {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return [
    '| benchmark | value | target | met | same-run baseline |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${[
      cell(r.name),
      `${formatNumber(r.value)} ${cell(r.unit)}`,
      cell(r.target ?? ''),
      r.met === undefined ? '' : r.met ? 'met' : '**missed**',
      r.baseline ? `${cell(r.baseline.name)}: ${formatNumber(r.baseline.value)}` : '',
    ].join(' | ')} |`),
  ];
}

/** Replaces the README's benchmark table; throws when the README has no such section (a renamed heading). */
export function updateReadmeTable(readmePath: string, results: readonly BenchResult[]): void {
  const lines = readFileSync(readmePath, 'utf8').split('\n');
  const section = lines.indexOf('## Benchmarks');
  const start = lines.findIndex((l, i) => i > section && l.startsWith('| benchmark |'));
  if (section < 0 || start < 0) throw new Error(`${readmePath} has no "## Benchmarks" table to update`);
  let end = start;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  lines.splice(start, end - start, ...benchmarkTable(results));
  writeFileSync(readmePath, lines.join('\n'));
}
