/**
 * Runs every `*.bench.ts` file under bench/ (or those whose names contain the CLI arguments), prints a table and writes
 * bench/results.json.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchFile, BenchResult } from './types.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  process.stderr.write(`running ${file}\n`);
  const mod = (await import(pathToFileURL(join(benchDir, file)).href)) as { default: BenchFile };
  results.push(...(await mod.default()));
}

const rows = results.map((r) => [
  r.name,
  `${formatNumber(r.value)} ${r.unit}`,
  r.target ?? '',
  r.baseline ? `${r.baseline.name}: ${formatNumber(r.baseline.value)}` : '',
]);
const header = ['benchmark', 'value', 'target', 'baseline'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));
writeFileSync(join(benchDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote ${join(benchDir, 'results.json')}`);

function formatNumber(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}
