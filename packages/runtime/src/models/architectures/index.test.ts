import { describe, it, expect } from 'vitest';
import { ROLES } from '../contract.ts';
import { defaultArchitectures } from './index.ts';

describe('defaultArchitectures', () => {
  it('registers one architecture per role, with unique ids', () => {
    const registry = defaultArchitectures();
    const ids = registry.all().map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(['uso-demo-dit', 'flux-dit', 'uso-demo-vae-encoder', 'uso-demo-vae-decoder', 'flux-vae-encoder', 'flux-vae-decoder', 'uso-demo-siglip-vision', 'siglip-vision', 'uso-projector', 'uso-demo-t5', 'uso-demo-clip', 't5-v1_1-encoder', 'clip-text']);
    for (const role of ROLES) expect(registry.forRole(role).length).toBeGreaterThan(0);
  });

  it('returns a fresh registry each call, so callers can add architectures', () => {
    expect(defaultArchitectures()).not.toBe(defaultArchitectures());
  });
});
