import { describe, expect, it } from 'vitest';
import { buildGraph } from '../graph.ts';
import { defineNode, type ApiPrompt, type HostEnvironment } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';
import { collectFingerprints, computeCacheKeys, hiddenInputs, nodeSignature } from './cache-keys.ts';
import { canonicalize } from './hash.ts';

const env: HostEnvironment = { inputDir: 'i', outputDir: 'o', tempDir: 't', modelsDir: 'm' };
const pass = () => ({});
const registry = new NodeRegistry([
  defineNode({ name: 'Const', category: 't', inputs: { required: { value: { type: 'INT' } } }, outputs: [{ type: 'INT' }, { type: 'INT' }], execute: pass }),
  defineNode({ name: 'Add', category: 't', inputs: { required: { a: { type: 'INT' }, b: { type: 'INT' } } }, outputs: [{ type: 'INT' }], execute: pass }),
  defineNode({
    name: 'Stamp',
    category: 't',
    inputs: { required: { file: { type: 'STRING' } } },
    outputs: [{ type: 'INT' }],
    fingerprint: (inputs) => (inputs['file'] === 'nan' ? Number.NaN : `mtime-of-${String(inputs['file'])}`),
    execute: pass,
  }),
  defineNode({ name: 'Random', category: 't', notIdempotent: true, inputs: { required: { value: { type: 'INT' } } }, outputs: [{ type: 'INT' }], execute: pass }),
  defineNode({
    name: 'WithId',
    category: 't',
    inputs: { required: { value: { type: 'INT' } }, hidden: { id: 'UNIQUE_ID', prompt: 'PROMPT', png: 'EXTRA_PNGINFO' } },
    outputs: [{ type: 'INT' }],
    execute: pass,
  }),
]);

async function keysOf(prompt: ApiPrompt, runNonce = 'run-1'): Promise<Map<string, string>> {
  const graph = buildGraph(prompt);
  const fingerprints = await collectFingerprints(graph, registry, graph.nodes.keys(), { env, prompt, extraData: {} });
  return computeCacheKeys({ graph, registry, fingerprints, runNonce }, graph.nodes.keys());
}

const sum = (seed: number): ApiPrompt => ({
  '1': { class_type: 'Const', inputs: { value: 2 } },
  '2': { class_type: 'Const', inputs: { value: seed } },
  '3': { class_type: 'Add', inputs: { a: ['1', 0], b: ['2', 0] } },
  '4': { class_type: 'Add', inputs: { a: ['3', 0], b: ['1', 0] } },
});

describe('computeCacheKeys', () => {
  it('is structural: node ids do not matter, identical subgraphs share keys', async () => {
    const renamed: ApiPrompt = {
      x: { class_type: 'Const', inputs: { value: 2 } },
      y: { class_type: 'Const', inputs: { value: 7 } },
      z: { class_type: 'Add', inputs: { b: ['y', 0], a: ['x', 0] } },
      w: { class_type: 'Add', inputs: { a: ['z', 0], b: ['x', 0] } },
    };
    const [a, b] = await Promise.all([keysOf(sum(7)), keysOf(renamed)]);
    expect(b.get('z')).toBe(a.get('3'));
    expect(b.get('w')).toBe(a.get('4'));
    // Two identical constants in one prompt share a key.
    const twins = await keysOf({ p: { class_type: 'Const', inputs: { value: 1 } }, q: { class_type: 'Const', inputs: { value: 1 } } });
    expect(twins.get('p')).toBe(twins.get('q'));
  });

  it('a changed constant changes that node and everything downstream only', async () => {
    const [a, b] = await Promise.all([keysOf(sum(7)), keysOf(sum(8))]);
    expect(b.get('1')).toBe(a.get('1'));
    expect(b.get('2')).not.toBe(a.get('2'));
    expect(b.get('3')).not.toBe(a.get('3'));
    expect(b.get('4')).not.toBe(a.get('4'));
  });

  it('the output slot and the input name are part of the key', async () => {
    const slot = (s: number): ApiPrompt => ({
      '1': { class_type: 'Const', inputs: { value: 1 } },
      '2': { class_type: 'Add', inputs: { a: ['1', s], b: 3 } },
    });
    expect((await keysOf(slot(0))).get('2')).not.toBe((await keysOf(slot(1))).get('2'));
    const swapped = await keysOf({
      '1': { class_type: 'Const', inputs: { value: 1 } },
      '2': { class_type: 'Add', inputs: { a: 3, b: ['1', 0] } },
    });
    expect(swapped.get('2')).not.toBe((await keysOf(slot(0))).get('2'));
  });

  it('includes the fingerprint; NaN never matches (a new key every run)', async () => {
    const stamp = (file: string): ApiPrompt => ({ s: { class_type: 'Stamp', inputs: { file } } });
    expect((await keysOf(stamp('a'))).get('s')).toBe((await keysOf(stamp('a'), 'run-2')).get('s'));
    const graph = buildGraph(stamp('a'));
    const changed = new Map([['s', canonicalize('mtime-changed')]]);
    expect(computeCacheKeys({ graph, registry, fingerprints: changed, runNonce: 'run-1' }, ['s']).get('s')).not.toBe(
      (await keysOf(stamp('a'))).get('s'),
    );
    expect((await keysOf(stamp('nan'), 'run-1')).get('s')).not.toBe((await keysOf(stamp('nan'), 'run-2')).get('s'));
  });

  it('a failing fingerprint counts as NaN', async () => {
    const throwing = new NodeRegistry([
      defineNode({ name: 'Bad', category: 't', inputs: {}, outputs: [], fingerprint: () => { throw new Error('no file'); }, execute: pass }),
    ]);
    const prompt: ApiPrompt = { b: { class_type: 'Bad', inputs: {} } };
    const graph = buildGraph(prompt);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const fingerprints = await collectFingerprints(graph, throwing, ['b'], { env, prompt, extraData: {}, logger });
    expect(fingerprints.get('b')).toBeNull();
    expect(warnings[0]).toContain('no file');
    const k1 = computeCacheKeys({ graph, registry: throwing, fingerprints, runNonce: '1' }, ['b']).get('b');
    const k2 = computeCacheKeys({ graph, registry: throwing, fingerprints, runNonce: '2' }, ['b']).get('b');
    expect(k1).not.toBe(k2);
  });

  it('waits for async fingerprints', async () => {
    const slow = new NodeRegistry([
      defineNode({ name: 'Slow', category: 't', inputs: {}, outputs: [], fingerprint: async () => 'v1', execute: pass }),
    ]);
    const prompt: ApiPrompt = { s: { class_type: 'Slow', inputs: {} } };
    const fingerprints = await collectFingerprints(buildGraph(prompt), slow, ['s'], { env, prompt, extraData: {} });
    expect(fingerprints.get('s')?.text).toBe('"v1"');
  });

  it('non-idempotent nodes and their consumers get a new key every run', async () => {
    const prompt: ApiPrompt = {
      r: { class_type: 'Random', inputs: { value: 1 } },
      s: { class_type: 'Add', inputs: { a: ['r', 0], b: 1 } },
    };
    const [a, b] = await Promise.all([keysOf(prompt, 'run-1'), keysOf(prompt, 'run-2')]);
    expect(a.get('r')).not.toBe(b.get('r'));
    expect(a.get('s')).not.toBe(b.get('s'));
    const graph = buildGraph({ ...prompt, c: { class_type: 'Const', inputs: { value: 1 } } });
    const volatile = new Set<string>();
    computeCacheKeys({ graph, registry, fingerprints: new Map(), runNonce: 'n', volatile }, graph.nodes.keys());
    expect(volatile).toEqual(new Set(['r', 's']));
  });

  it('UNIQUE_ID makes the node id part of the key', async () => {
    const keys = await keysOf({
      a: { class_type: 'WithId', inputs: { value: 1 } },
      b: { class_type: 'WithId', inputs: { value: 1 } },
    });
    expect(keys.get('a')).not.toBe(keys.get('b'));
    expect((await keysOf({ a: { class_type: 'WithId', inputs: { value: 1 } } }, 'other')).get('a')).toBe(keys.get('a'));
  });

  it('gives no key to nodes in a cycle or behind one, and still keys the rest', async () => {
    const keys = await keysOf({
      a: { class_type: 'Add', inputs: { a: ['b', 0], b: 1 } },
      b: { class_type: 'Add', inputs: { a: ['a', 0], b: 1 } },
      c: { class_type: 'Add', inputs: { a: ['b', 0], b: 1 } },
      d: { class_type: 'Const', inputs: { value: 1 } },
    });
    expect(keys.has('a')).toBe(false);
    expect(keys.has('b')).toBe(false);
    expect(keys.has('c')).toBe(false);
    expect(keys.has('d')).toBe(true);
  });

  it('signatures name sources only by key and slot', async () => {
    const prompt = sum(7);
    const graph = buildGraph(prompt);
    const keys = await keysOf(prompt);
    const signature = nodeSignature({ graph, registry, fingerprints: new Map(), runNonce: 'n' }, '3', keys);
    expect(signature).toContain(`@${keys.get('1')}#0`);
    expect(signature).not.toMatch(/1:1|1:2/);
  });

  it('keys a 5,000-node chain without recursion limits', async () => {
    const prompt: ApiPrompt = { '0': { class_type: 'Const', inputs: { value: 0 } } };
    for (let i = 1; i < 5000; i++) prompt[String(i)] = { class_type: 'Add', inputs: { a: [String(i - 1), 0], b: i } };
    const keys = await keysOf(prompt);
    expect(keys.size).toBe(5000);
    expect(new Set(keys.values()).size).toBe(5000);
  });
});

describe('hiddenInputs', () => {
  it('passes the prompt, extra_pnginfo and the node id', () => {
    const prompt: ApiPrompt = { n: { class_type: 'WithId', inputs: { value: 1 } } };
    const hidden = hiddenInputs(registry.get('WithId')!, 'n', prompt, { extra_pnginfo: { workflow: 1 } });
    expect(hidden).toEqual({ id: 'n', prompt, png: { workflow: 1 } });
    expect(hiddenInputs(registry.get('WithId')!, 'n', prompt, {})).toEqual({ id: 'n', prompt });
  });
});
