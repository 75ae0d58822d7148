import { describe, expect, it } from 'vitest';
import { DEFAULT_PACKS, buildRegistry, loadRegistry } from './packs.ts';
import { TEST_PACK } from './test-support/harness.ts';

describe('packs', () => {
  it('loads the default packs and an extra pack by absolute path', async () => {
    const registry = await loadRegistry([...DEFAULT_PACKS, TEST_PACK]);
    expect(registry.has('SrvSleep')).toBe(true);
    expect(registry.get('SrvSleep')!.pack).toBe('server-test-support');
    expect(registry.names().length).toBeGreaterThan(7);
  });

  it('names a module without a pack export', async () => {
    await expect(loadRegistry(['node:path'])).rejects.toThrow(/node:path.*'pack'/);
  });

  it('refuses the same node twice', () => {
    const node = { name: 'X', category: 'c', inputs: {}, outputs: [], execute: () => ({}) };
    expect(() => buildRegistry([{ name: 'a', nodes: [node] }, { name: 'b', nodes: [node] }])).toThrow(/twice/);
  });
});
