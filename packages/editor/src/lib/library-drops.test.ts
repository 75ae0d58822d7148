import { describe, expect, it } from 'vitest';
import { isLibraryDrag, readLibraryDrop, startModelDrag, startNodeDrag } from './library-drops.ts';

/** A DataTransfer as far as the drag code uses one (jsdom has none). */
function transfer(): DataTransfer {
  const data = new Map<string, string>();
  return {
    effectAllowed: 'none',
    get types() { return [...data.keys()]; },
    setData: (k: string, v: string) => void data.set(k, v),
    getData: (k: string) => data.get(k) ?? '',
  } as unknown as DataTransfer;
}

describe('library drags', () => {
  it('round-trips a node class and a model file', () => {
    const node = transfer();
    startNodeDrag(node, 'KSampler');
    expect(isLibraryDrag(node)).toBe(true);
    expect(readLibraryDrop(node)).toEqual({ kind: 'node', type: 'KSampler' });
    const model = transfer();
    startModelDrag(model, 'loras', 'sub/style.safetensors');
    expect(readLibraryDrop(model)).toEqual({ kind: 'model', folder: 'loras', file: 'sub/style.safetensors' });
  });

  it('reads nothing from other drags or malformed data', () => {
    const text = transfer();
    text.setData('text/plain', 'hello');
    expect(isLibraryDrag(text)).toBe(false);
    expect(readLibraryDrop(text)).toBeNull();
    const bad = transfer();
    bad.setData('application/x-uso-model', '{"folder": 3}');
    expect(readLibraryDrop(bad)).toBeNull();
    expect(readLibraryDrop(null)).toBeNull();
  });
});
