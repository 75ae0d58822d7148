import { describe, expect, it } from 'vitest';
import { bundledTemplates, pickDefaultTemplate, templatesFrom } from './templates.ts';

describe('templates', () => {
  it('names templates after their files and sorts them', () => {
    const t = templatesFrom({ '../../workflows/b.json': { nodes: [] }, '../../workflows/A uso.json': { nodes: [] } });
    expect(t.map((x) => x.name)).toEqual(['A uso', 'b']);
  });

  it('picks `default`, then uso-style-subject, then a USO one, then the first', () => {
    const make = (...names: string[]) => names.map((name) => ({ name, workflow: {} }));
    expect(pickDefaultTemplate(make('a', 'default', 'uso'))?.name).toBe('default');
    expect(pickDefaultTemplate(make('uso-a', 'uso-style-subject', 'uso-z'))?.name).toBe('uso-style-subject');
    expect(pickDefaultTemplate(make('a', 'USO style'))?.name).toBe('USO style');
    expect(pickDefaultTemplate(make('b', 'c'))?.name).toBe('b');
    expect(pickDefaultTemplate([])).toBeUndefined();
  });

  it('bundles every JSON file of the repository\'s workflows folder', async () => {
    const { readdirSync } = await import('node:fs');
    const onDisk = readdirSync(new URL('../../../../workflows/', import.meta.url)).filter((f) => f.endsWith('.json'));
    expect(bundledTemplates().map((t) => `${t.name}.json`).sort()).toEqual(onDisk.sort());
  });
});
