/**
 * The demo input pictures: a subject with clear structure (three flat shapes on a plain background) and two styles
 * with very different palettes and contrast. Drawn procedurally, as 8-bit RGB.
 */

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, row-major. */
  readonly rgb: Uint8Array;
}

function draw(width: number, height: number, colourAt: (x: number, y: number) => readonly [number, number, number]): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colourAt(x, y);
      const i = (y * width + x) * 3;
      rgb[i] = Math.max(0, Math.min(255, Math.round(r)));
      rgb[i + 1] = Math.max(0, Math.min(255, Math.round(g)));
      rgb[i + 2] = Math.max(0, Math.min(255, Math.round(b)));
    }
  }
  return { width, height, rgb };
}

/** 512x512: a red disc, a blue square and a green triangle on a light warm-grey background. */
export function demoSubjectImage(size = 512): RgbImage {
  const s = size / 512;
  return draw(size, size, (x, y) => {
    const px = x / s;
    const py = y / s;
    if ((px - 170) ** 2 + (py - 180) ** 2 < 95 ** 2) return [215, 45, 40];
    if (px > 290 && px < 450 && py > 90 && py < 250) return [40, 70, 200];
    // Triangle with apex (256, 290) and base y = 470 from x = 110 to 402.
    if (py > 290 && py < 470 && Math.abs(px - 256) < ((py - 290) / 180) * 146) return [45, 160, 70];
    return [232, 228, 218];
  });
}

/** 512x512 style A: warm and high-contrast (deep red-brown against bright yellow, in bold diagonal bands). */
export function demoStyleImageA(size = 512): RgbImage {
  return draw(size, size, (x, y) => {
    const t = 0.5 + 0.5 * Math.sin(((x + y) / size) * Math.PI * 6);
    const k = t > 0.5 ? 1 : 0;
    return [110 + 145 * k, 20 + 200 * k, 10 + 30 * k];
  });
}

/** 512x512 style B: cool and soft (smooth waves between dusk blue and pale teal, no hard edges, moderate contrast). */
export function demoStyleImageB(size = 512): RgbImage {
  return draw(size, size, (x, y) => {
    const t = 0.5 + 0.5 * Math.sin(2 * Math.PI * ((1.5 * x) / size + y / size));
    return [45 + 95 * t, 85 + 110 * t, 140 + 75 * t];
  });
}
