import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '@uso-studio/core';
import { runWorkflow, WorkflowRunError } from './run-workflow.ts';

const testingPack = fileURLToPath(new URL('../../../nodes/testing/src/index.ts', import.meta.url));
const primitivesPack = '@uso-studio/nodes-primitives';
const packs = [primitivesPack, testingPack];

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'uso-cli-'));
}

const apiPrompt = {
  '1': { class_type: 'PrimitiveInt', inputs: { value: 4 } },
  '2': { class_type: 'TestAdd', inputs: { a: ['1', 0], b: 3 } },
  '3': { class_type: 'TestOutput', inputs: { value: ['2', 0] } },
};

describe('runWorkflow', () => {
  it('runs an API prompt and emits ComfyUI events in order', async () => {
    const events: ExecutionEvent[] = [];
    const result = await runWorkflow(apiPrompt, { dataDir: dataDir(), packs, onEvent: (e) => events.push(e) });
    expect(result.status).toBe('success');
    expect(result.outputs['3']).toEqual({ text: [7] });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('execution_start');
    expect(types).toContain('executed');
    expect(types.indexOf('execution_success')).toBeGreaterThan(types.indexOf('executed'));
  });

  it('writes the demo model set into an empty models folder first, and says so', async () => {
    const dir = dataDir();
    const notices: string[] = [];
    await runWorkflow(apiPrompt, { dataDir: dir, packs, onNotice: (l) => notices.push(l) });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/models\/ was empty: wrote the demo model set \(\d+ files, no learned weights\)/);
    expect(readdirSync(join(dir, 'models', 'checkpoints'))).toContain('uso-demo-flux-checkpoint.safetensors');
    // Not again once models/ holds files.
    const again: string[] = [];
    await runWorkflow(apiPrompt, { dataDir: dir, packs, onNotice: (l) => again.push(l) });
    expect(again).toEqual([]);
  });

  it('applies --set overrides by id, title and class', async () => {
    const result = await runWorkflow(apiPrompt, { dataDir: dataDir(), packs, overrides: ['1.value=10', 'TestAdd.b=5'] });
    expect(result.outputs['3']).toEqual({ text: [15] });
  });

  it('reads a UI workflow file and a prompt from a file', async () => {
    const dir = dataDir();
    const file = join(dir, 'prompt.json');
    writeFileSync(file, JSON.stringify(apiPrompt));
    const result = await runWorkflow(file, { dataDir: dir, packs });
    expect(result.outputs['3']).toEqual({ text: [7] });
  });

  it('reports validation failures readably, naming node, class and input', async () => {
    const bad = { ...apiPrompt, '2': { class_type: 'TestAdd', inputs: { a: ['1', 0] } } };
    const error = await runWorkflow(bad, { dataDir: dataDir(), packs }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowRunError);
    expect((error as Error).message).toMatch(/node 2 \(TestAdd\).*Required input is missing/);
  });

  it('names the failing node on a runtime error', async () => {
    const failing = {
      '1': { class_type: 'TestError', inputs: { message: 'boom' } },
      '2': { class_type: 'TestOutput', inputs: { value: ['1', 0] } },
    };
    await expect(runWorkflow(failing, { dataDir: dataDir(), packs })).rejects.toThrow(/Node 1 \(TestError\) failed: boom/);
  });

  it('names unknown node types and refuses non-workflows', async () => {
    const unknown = { '1': { class_type: 'NoSuchNode', inputs: {} } };
    await expect(runWorkflow(unknown, { dataDir: dataDir(), packs })).rejects.toThrow(/NoSuchNode/);
    await expect(runWorkflow({ hello: 'world' }, { dataDir: dataDir(), packs })).rejects.toThrow(/Not a workflow/);
    await expect(runWorkflow('/nonexistent/x.json', { dataDir: dataDir(), packs })).rejects.toThrow(/not found/);
    const dir = dataDir();
    writeFileSync(join(dir, 'broken.json'), '{"1": ');
    await expect(runWorkflow(join(dir, 'broken.json'), { dataDir: dir, packs })).rejects.toThrow(/not valid JSON/);
    expect(readFileSync(join(dir, 'broken.json'), 'utf8')).toBe('{"1": ');
  });
});
