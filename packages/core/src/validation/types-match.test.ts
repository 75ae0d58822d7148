import { describe, expect, it } from 'vitest';
import { typesMatch } from './types-match.ts';

describe('typesMatch', () => {
  it('matches equal types and nothing else for plain types', () => {
    expect(typesMatch('IMAGE', 'IMAGE')).toBe(true);
    expect(typesMatch('IMAGE', 'MASK')).toBe(false);
  });
  it('is case-sensitive, as ComfyUI is', () => {
    expect(typesMatch('image', 'IMAGE')).toBe(false);
  });
  it("treats '*' on either side as any type", () => {
    expect(typesMatch('*', 'LATENT')).toBe(true);
    expect(typesMatch('LATENT', '*')).toBe(true);
    expect(typesMatch('IMAGE,*', 'LATENT')).toBe(true);
    expect(typesMatch('LATENT', 'IMAGE, *')).toBe(true);
  });
  it('matches unions on either side when they share a member', () => {
    expect(typesMatch('IMAGE', 'IMAGE,MASK')).toBe(true);
    expect(typesMatch('MASK', 'IMAGE, MASK')).toBe(true);
    expect(typesMatch('STRING,BOOLEAN', 'STRING,INT')).toBe(true);
    expect(typesMatch('IMAGE,MASK', 'MASK')).toBe(true);
    expect(typesMatch('IMAGE,MASK', 'LATENT,MODEL')).toBe(false);
    expect(typesMatch('LATENT', 'IMAGE,MASK')).toBe(false);
  });
  it('trims members like Python str.strip()', () => {
    expect(typesMatch(' IMAGE ', 'IMAGE,MASK')).toBe(true);
  });
});
