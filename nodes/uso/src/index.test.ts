import { describe, it, expect } from 'vitest';
import { pack } from './index.ts';

describe('uso pack', () => {
  it('registers the USO nodes', () => {
    expect(pack.nodes.map((n) => n.name)).toEqual(['ModelPatchLoader', 'USOStyleReference', 'USOSampler']);
  });
});
