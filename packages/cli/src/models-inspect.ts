/**
 * `uso-studio models inspect FILE...`: prints what runtime's inspectModelFile finds in each file (the loader's own
 * detection), as text for a person or as JSON lines.
 */
import { COMPUTE_DTYPES, defaultArchitectures, inspectModelFile, type InspectedFile, type InspectedModel } from '@uso-studio/runtime';

/** Lists at most `limit` names, then how many more. */
function names(list: readonly string[], limit: number): string {
  if (list.length === 0) return 'none';
  const shown = list.slice(0, limit).join(', ');
  return list.length > limit ? `${shown} … and ${list.length - limit} more` : shown;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}

function formatModel(m: InspectedModel, verbose: boolean): string[] {
  const limit = verbose ? Infinity : 6;
  const dtypes = Object.entries(m.dtypes).map(([d, n]) => `${d} x${n}`).join(', ') || 'none';
  const memory = COMPUTE_DTYPES.map((d) => `${d} ${formatBytes(m.computeBytes[d])}`).join(', ');
  return [
    `  ${m.role}: ${m.architecture} v${m.version}${m.error ? `  [cannot load: ${m.error}]` : ''}`,
    `    key prefix: ${m.keyPrefix === '' ? '(none)' : m.keyPrefix}${m.keyLayout === 'canonical' ? '' : `, ${m.keyLayout} names`}`,
    `    config: ${JSON.stringify(m.config)}`,
    `    dtypes: ${dtypes}`,
    `    tensors used: ${m.used.length}`,
    `    deliberately ignored: ${m.ignored.length}${m.ignored.length ? ` (${names(m.ignored, limit)})` : ''}`,
    `    unknown: ${m.unknown.length}${m.unknown.length ? ` (${names(m.unknown, limit)})` : ''}`,
    ...(m.missing.length ? [`    missing: ${m.missing.length} (${names(m.missing, limit)})`] : []),
    `    memory for weights: ${formatBytes(m.storedBytes)} mapped from the file on the CPU (not copied); held as ${memory} by a provider that converts them`,
  ];
}

/** The report of one file as text. */
function formatInspection(report: InspectedFile, verbose = false): string {
  const lines = [`${report.file} (${formatBytes(report.fileSize)}, ${report.tensorCount} tensors)`];
  if (report.models.length === 0) lines.push('  no known model found');
  for (const m of report.models) lines.push(...formatModel(m, verbose));
  for (const note of report.notes) lines.push(`  note: ${note}`);
  if (report.models.length > 0 && report.unclaimed.length > 0) {
    lines.push(`  tensors no model reads: ${report.unclaimed.length} (${names(report.unclaimed, verbose ? Infinity : 6)})`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Inspects each file and writes the reports. Returns false when a file could not be read or holds no known model,
 * so the command can exit non-zero; the other files are still reported.
 */
export function inspectFiles(files: readonly string[], options: { json?: boolean; verbose?: boolean }, write: (text: string) => void, writeError: (text: string) => void): boolean {
  const registry = defaultArchitectures();
  let ok = true;
  for (const file of files) {
    try {
      const report = inspectModelFile(file, registry);
      if (report.models.length === 0) ok = false;
      write(options.json ? `${JSON.stringify(report)}\n` : formatInspection(report, options.verbose ?? false));
    } catch (error) {
      ok = false;
      writeError(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  return ok;
}
