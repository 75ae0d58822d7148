import { describe, it, expect } from 'vitest';
import { DEMO_NUMBERS, demoDitTensors, demoLoraTensors, demoProjectorTensors, demoVaeTensors, demoVisionTensors } from './weights.ts';

const data = (t: { data: unknown }) => t.data as Float32Array;

describe('demo weights', () => {
  it('VAE encoder: channel c*4+q averages colour c over quadrant q', () => {
    const w = data(demoVaeTensors()['encoder.conv_in.weight']!);
    // channel 1*4+2 (green, lower-left quadrant): pixels rows 4..7, cols 0..3 of input channel 1.
    let sum = 0;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += w[((6 * 3 + 1) * 8 + y) * 8 + x]!;
    expect(sum).toBeCloseTo(1, 6);
    expect(w[((6 * 3 + 1) * 8 + 5) * 8 + 2]).toBe(1 / 16);
    expect(w[((6 * 3 + 1) * 8 + 1) * 8 + 2]).toBe(0);
    expect(w[((6 * 3 + 0) * 8 + 5) * 8 + 2]).toBe(0);
    for (let i = 12 * 192; i < 16 * 192; i++) expect(w[i]).toBe(0);
  });

  it('vision: 27 layer scales; projector scale K/sqrt(8) on the six statistics', () => {
    const v = demoVisionTensors();
    expect(Object.keys(v).filter((k) => k.endsWith('.layer_scale')).length).toBe(27);
    const p = data(demoProjectorTensors()['mid_projection.weight']!);
    expect(p[5 * 16 + 5]).toBeCloseTo(DEMO_NUMBERS.visionK / Math.sqrt(8), 4);
    expect(p[6 * 16 + 6]).toBe(0);
  });

  it('LoRA: up @ down adds 0.65 on the 48 colour features, nothing elsewhere', () => {
    const l = demoLoraTensors();
    const down = data(l['double_blocks.0.processor.proj_lora1.down.weight']!);
    const up = data(l['double_blocks.0.processor.proj_lora1.up.weight']!);
    const base = data(demoDitTensors()['double_blocks.0.img_attn.proj.weight']!);
    for (let o = 0; o < 64; o++)
      for (let i = 0; i < 64; i++) {
        let d = 0;
        for (let r = 0; r < 48; r++) d += up[o * 48 + r]! * down[r * 64 + i]!;
        const expected = o === i ? (o < 48 ? 1 : DEMO_NUMBERS.styleGate) : 0;
        expect(base[o * 64 + i]! + d).toBeCloseTo(expected, 6);
      }
  });

  it('DiT: txt_in has 3 + 5 rows per wave; colour words tint the matching colour', () => {
    const t = demoDitTensors();
    expect(t['txt_in.weight']!.shape).toEqual([3 + 5 * DEMO_NUMBERS.waves, 16]);
    const w = data(t['txt_in.weight']!);
    expect([w[0], w[16 + 1], w[32 + 2], w[1]]).toEqual([1, 1, 1, 0]);
  });
});
