import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { benchmarkTable, formatNumber, updateReadmeTable } from '../../bench/readme-table.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the README benchmark table', () => {
  it('formats figures, marks missed targets and escapes pipes', () => {
    expect([formatNumber(129223.4), formatNumber(6.6), formatNumber(0.2502)]).toEqual(['129223', '6.60', '0.250']);
    const rows = benchmarkTable([
      { name: 'a | b', value: 2, unit: 'ms', better: 'lower', target: '<= 1 ms', met: false, baseline: { name: 'torch', value: 1234.5 } },
      { name: 'c', value: 0.5, unit: 'x', better: 'lower' },
    ]);
    expect(rows[2]).toBe('| a \\| b | 2.00 ms | <= 1 ms | **missed** | torch: 1235 |');
    expect(rows[3]).toBe('| c | 0.500 x |  |  |  |');
  });

  it('replaces only the table under "## Benchmarks" and refuses a README without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'readme-table-'));
    dirs.push(dir);
    const path = join(dir, 'README.md');
    writeFileSync(path, '# x\n\n| other | table |\n|---|---|\n\n## Benchmarks\n\ntext\n\n| benchmark | value |\n|---|---|\n| old | 1 |\n\n## Next\n');
    updateReadmeTable(path, [{ name: 'new', value: 3, unit: 's', better: 'lower', target: '< 5 s', met: true }]);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('| other | table |');
    expect(text).not.toContain('| old | 1 |');
    expect(text).toContain('| new | 3.00 s | < 5 s | met |  |\n\n## Next\n');
    writeFileSync(path, '# nothing\n');
    expect(() => updateReadmeTable(path, [])).toThrow(/no "## Benchmarks" table/);
  });
});
