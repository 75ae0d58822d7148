import { describe, expect, it } from 'vitest';
import { libraryEntries, workflowNameOf, workflowPathFor } from './workflow-library.ts';

describe('workflow library names', () => {
  it('makes workflows/<name>.json paths that cannot leave the folder', () => {
    expect(workflowPathFor('style one')).toBe('workflows/style one.json');
    expect(workflowPathFor(' portraits/style.json ')).toBe('workflows/portraits/style.json');
    expect(workflowPathFor('../../etc/passwd')).toBe('workflows/etc/passwd.json');
    expect(workflowPathFor('a\\b:c')).toBe('workflows/a/b_c.json');
    expect(workflowPathFor(' / .. ')).toBeNull();
    expect(workflowNameOf('workflows/portraits/style.json')).toBe('portraits/style');
  });

  it('lists only JSON files, by name', () => {
    const entries = libraryEntries([
      { path: 'b.json', size: 2, modified: 1 }, { path: 'notes.txt', size: 1, modified: 1 }, { path: 'a/c.json', size: 3, modified: 2 },
    ]);
    expect(entries.map((e) => [e.name, e.path])).toEqual([['a/c', 'workflows/a/c.json'], ['b', 'workflows/b.json']]);
  });
});
