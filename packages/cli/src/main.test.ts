import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { apiToUi, insertPngTextChunks } from '@uso-studio/core';
import { buildRegistry, loadPacks } from '@uso-studio/server';
import { tinyPng } from '../../core/src/formats/png/test-png.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const testingPack = fileURLToPath(new URL('../../../nodes/testing/src/index.ts', import.meta.url));
const packArgs = ['--pack', '@uso-studio/nodes-primitives', testingPack];

const prompt = {
  '1': { class_type: 'PrimitiveInt', inputs: { value: 2 } },
  '2': { class_type: 'TestProgress', inputs: { value: ['1', 0], steps: 3, ms: 0 } },
  '3': { class_type: 'TestOutput', inputs: { value: ['2', 0] } },
};

function cli(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', mainTs, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'uso-cli-main-'));
}

describe('uso-studio run (process)', () => {
  it('prints JSON lines with --json and exits 0', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p.json'), JSON.stringify(prompt));
    const { code, stdout } = cli(['run', join(dir, 'p.json'), '--data', dir, '--json', ...packArgs]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    expect(lines[0]!.type).toBe('execution_start');
    expect(lines.filter((l) => l.type === 'progress')).toHaveLength(3);
    expect(lines.some((l) => l.type === 'execution_success')).toBe(true);
    expect(lines.at(-1)!.type).toBe('result');
    expect(lines.at(-1)!.data.outputs).toEqual({ '3': { text: [2] } });
  });

  it('runs the UI workflow carried by a PNG', async () => {
    const dir = tempDir();
    const registry = buildRegistry(await loadPacks(['@uso-studio/nodes-primitives', testingPack]));
    const env = { inputDir: dir, outputDir: dir, tempDir: dir, modelsDir: dir };
    const workflow = apiToUi(prompt, registry.objectInfo(env));
    const png = insertPngTextChunks(await tinyPng(), { workflow: JSON.stringify(workflow) });
    writeFileSync(join(dir, 'w.png'), png);
    const { code, stdout } = cli(['run', join(dir, 'w.png'), '--data', dir, '--json', '--set', '1.value=9', ...packArgs]);
    expect(code).toBe(0);
    expect(stdout).toContain('"outputs":{"3":{"text":[9]}}');
  });

  it('fails with a readable error and no stack trace unless --verbose', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), '{"nodes": 3');
    const plain = cli(['run', join(dir, 'bad.json'), '--data', dir, ...packArgs]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: .*not valid JSON/m);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const verbose = cli(['--verbose', 'run', join(dir, 'bad.json'), '--data', dir, ...packArgs]);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('refuses an unknown --execution-provider', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p.json'), JSON.stringify(prompt));
    const { code, stderr } = cli(['run', join(dir, 'p.json'), '--data', dir, '--execution-provider', 'tpu', ...packArgs]);
    expect(code).toBe(1);
    expect(stderr).toContain("--execution-provider must be one of cpu, cuda, webgpu, got 'tpu'");
  });

  it('exits non-zero on a bad --set', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p.json'), JSON.stringify(prompt));
    const { code, stderr } = cli(['run', join(dir, 'p.json'), '--data', dir, '--set', '77.value=1', ...packArgs]);
    expect(code).toBe(1);
    expect(stderr).toContain('no node has that id, title or type');
  });
});
