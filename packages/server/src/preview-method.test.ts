import { describe, expect, it } from 'vitest';
import { previewsWanted } from './preview-method.ts';

describe('previewsWanted', () => {
  it("follows the server's method unless the prompt names one ('default' and junk mean the server's)", () => {
    expect(previewsWanted({}, 'none')).toBe(false);
    expect(previewsWanted({}, 'auto')).toBe(true);
    expect(previewsWanted({ preview_method: 'auto' }, 'none')).toBe(true);
    expect(previewsWanted({ preview_method: 'latent2rgb' }, 'none')).toBe(true);
    expect(previewsWanted({ preview_method: 'taesd' }, 'none')).toBe(true);
    expect(previewsWanted({ preview_method: 'none' }, 'auto')).toBe(false);
    expect(previewsWanted({ preview_method: 'default' }, 'auto')).toBe(true);
    expect(previewsWanted({ preview_method: 'default' }, 'none')).toBe(false);
    expect(previewsWanted({ preview_method: 42 }, 'none')).toBe(false);
  });
});
