import { describe, it, expect } from 'vitest';
import { FLUX_VAE_PUBLISHED } from './flux-vae-config.ts';
import { fluxVaeActivationBytes } from './flux-vae-memory.ts';

const GiB = 2 ** 30;

describe('FLUX VAE activation estimate', () => {
  it('counts the decoder at 1024² as five 256-channel full-resolution float32 tensors', () => {
    const bytes = fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'decoder', [1, 16, 128, 128]);
    expect(bytes).toBe(5 * 256 * 1024 * 1024 * 4);
    expect(bytes / GiB).toBeCloseTo(5, 6);
  });

  it('scales with batch and pixels; the encoder at the same image size needs less', () => {
    const one = fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'decoder', [1, 16, 64, 64]);
    expect(fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'decoder', [3, 16, 64, 64])).toBe(3 * one);
    expect(fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'decoder', [1, 16, 128, 128])).toBe(4 * one);
    const encoder = fluxVaeActivationBytes(FLUX_VAE_PUBLISHED, 'encoder', [1, 3, 512, 512]);
    expect(encoder).toBe(5 * 128 * 512 * 512 * 4);
    expect(encoder).toBeLessThan(one);
  });

  it("counts the mid attention's [tokens, tokens] scores where they dominate (many tokens at low width)", () => {
    const narrow = { ...FLUX_VAE_PUBLISHED, baseChannels: 32, channelMultipliers: [1, 1, 1, 1] };
    const tokens = 128 * 128;
    expect(fluxVaeActivationBytes(narrow, 'decoder', [1, 16, 128, 128])).toBe(2 * tokens * tokens * 4 + 3 * 32 * tokens * 4);
  });
});
