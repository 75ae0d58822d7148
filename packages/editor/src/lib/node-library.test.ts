import { describe, expect, it } from 'vitest';
import { categoryTree, countNodes } from './node-library.ts';
import { testObjectInfo } from './test-support.ts';

describe('categoryTree', () => {
  it('files classes by category, nesting a/b paths, folders and nodes sorted by name', () => {
    const info = testObjectInfo();
    info.KSampler!.category = 'sampling/custom';
    const tree = categoryTree(info);
    expect(tree.folders.map((f) => f.name)).toEqual([...tree.folders.map((f) => f.name)].sort((a, b) => a.localeCompare(b)));
    const sampling = tree.folders.find((f) => f.name === 'sampling')!;
    expect(sampling.folders.map((f) => [f.name, f.path])).toEqual([['custom', 'sampling/custom']]);
    expect(sampling.folders[0]!.nodes.map((n) => n.type)).toEqual(['KSampler']);
    const image = tree.folders.find((f) => f.name === 'image')!;
    expect(image.nodes.map((n) => n.title)).toEqual(['Load Image', 'Preview Image', 'Save Image']);
    expect(countNodes(tree)).toBe(Object.keys(info).length);
  });

  it('puts classes without a category under uncategorized', () => {
    const info = testObjectInfo();
    info.KSampler!.category = '';
    const tree = categoryTree(info);
    expect(tree.folders.find((f) => f.name === 'uncategorized')!.nodes.map((n) => n.type)).toEqual(['KSampler']);
  });
});
