/**
 * Runs every `*.bench.ts` file under bench/ (or those whose names contain the CLI arguments), prints a table and
 * updates bench/results.json: the entries of the files that ran are replaced, the others are kept, so a partial run
 * (`pnpm bench dit`) refreshes only its own figures; the root README's table is then regenerated from all of them. Each entry records its file and, where its target parses as
 * "<op> <number>", whether it was met.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatNumber, updateReadmeTable } from './readme-table.ts';
import { targetMet } from './target.ts';
import type { BenchFile, BenchResult } from './types.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(benchDir, 'results.json');
const filters = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  process.stderr.write(`running ${file}\n`);
  const mod = (await import(pathToFileURL(join(benchDir, file)).href)) as { default: BenchFile };
  for (const r of await mod.default()) {
    const met = r.target === undefined ? undefined : targetMet(r.target, r.value);
    results.push({ ...r, file, ...(met === undefined ? {} : { met }) });
  }
}

const rows = results.map((r) => [
  r.name,
  `${formatNumber(r.value)} ${r.unit}`,
  r.target ?? '',
  r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  r.baseline ? `${r.baseline.name}: ${formatNumber(r.baseline.value)}` : '',
]);
const header = ['benchmark', 'value', 'target', '', 'baseline'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));

const ran = new Set(files);
const fresh = new Set(results.map((r) => r.name));
const kept = (existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as BenchResult[]) : [])
  .filter((r) => !(r.file !== undefined && ran.has(r.file)) && !fresh.has(r.name));
const merged = [...kept, ...results].sort((a, b) => (a.file ?? '').localeCompare(b.file ?? ''));
writeFileSync(resultsPath, JSON.stringify(merged, null, 2) + '\n');
console.log(`\nupdated ${resultsPath} (${results.length} figures from ${files.length} files, ${kept.length} kept)`);
const readmePath = join(benchDir, '..', 'README.md');
updateReadmeTable(readmePath, merged);
console.log(`updated the benchmark table in ${readmePath}`);
