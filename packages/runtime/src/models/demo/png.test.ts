import { describe, it, expect } from 'vitest';
import { crc32, inflateSync } from 'node:zlib';
import { encodePngRgb } from './png.ts';

/** Splits a PNG into chunks, checking each CRC. */
function chunks(png: Buffer): { type: string; data: Buffer }[] {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const out: { type: string; data: Buffer }[] = [];
  let p = 8;
  while (p < png.length) {
    const len = png.readUInt32BE(p);
    const type = png.toString('ascii', p + 4, p + 8);
    const data = png.subarray(p + 8, p + 8 + len);
    expect(png.readUInt32BE(p + 8 + len)).toBe(crc32(png.subarray(p + 4, p + 8 + len)));
    out.push({ type, data });
    p += 12 + len;
  }
  return out;
}

describe('PNG writer', () => {
  it('checks chunks against the standard CRC-32, and writes the well-known IEND CRC', () => {
    // The reference the chunk checks use must be PNG's CRC-32 (ISO-HDLC): its standard check value.
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const png = encodePngRgb(1, 1, new Uint8Array(3));
    expect(png.readUInt32BE(png.length - 4)).toBe(0xae426082);
  });

  it('writes IHDR, one IDAT holding filter-0 rows of the pixels, and IEND', () => {
    const rgb = new Uint8Array(3 * 4 * 2).map((_, i) => (i * 37) % 256);
    const png = encodePngRgb(4, 2, rgb);
    const parts = chunks(png);
    expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = parts[0]!.data;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]]).toEqual([4, 2, 8, 2, 0, 0, 0]);
    const raw = inflateSync(parts[1]!.data);
    expect(raw.length).toBe(2 * (1 + 12));
    expect(raw[0]).toBe(0);
    expect([...raw.subarray(1, 13)]).toEqual([...rgb.subarray(0, 12)]);
    expect([...raw.subarray(14, 26)]).toEqual([...rgb.subarray(12, 24)]);
  });

  it('rejects a pixel buffer of the wrong size', () => {
    expect(() => encodePngRgb(2, 2, new Uint8Array(11))).toThrow(/needs 12 bytes/);
  });
});
