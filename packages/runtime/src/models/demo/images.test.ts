import { describe, it, expect } from 'vitest';
import { demoStyleImageA, demoStyleImageB, demoSubjectImage, type RgbImage } from './images.ts';

function stats(img: RgbImage): { mean: number[]; std: number[]; colours: number } {
  const n = img.width * img.height;
  const mean = [0, 0, 0];
  const sq = [0, 0, 0];
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    seen.add((img.rgb[i * 3]! << 16) | (img.rgb[i * 3 + 1]! << 8) | img.rgb[i * 3 + 2]!);
    for (let c = 0; c < 3; c++) {
      mean[c]! += img.rgb[i * 3 + c]! / n;
      sq[c]! += img.rgb[i * 3 + c]! ** 2 / n;
    }
  }
  return { mean, std: mean.map((m, c) => Math.sqrt(sq[c]! - m * m)), colours: seen.size };
}

describe('demo pictures', () => {
  it('the subject is flat shapes on a plain background', () => {
    const s = stats(demoSubjectImage());
    expect(s.colours).toBe(4);
  });

  it('the two styles differ in palette and contrast', () => {
    const a = stats(demoStyleImageA());
    const b = stats(demoStyleImageB());
    expect(a.mean[0]! - a.mean[2]!).toBeGreaterThan(100); // warm
    expect(b.mean[2]! - b.mean[0]!).toBeGreaterThan(50); // cool
    expect(Math.min(...a.std)).toBeGreaterThan(10);
    expect(Math.max(...a.std) / Math.max(...b.std)).toBeGreaterThan(1.5); // A is high-contrast, B softer
    expect(Math.min(...b.std)).toBeGreaterThan(10); // but B still shows structure
  });

  it('scales with the size argument', () => {
    expect(demoSubjectImage(128).rgb.length).toBe(128 * 128 * 3);
  });
});
