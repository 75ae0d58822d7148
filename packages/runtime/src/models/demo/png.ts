/**
 * A minimal PNG writer (8-bit RGB, no interlace, filter 0 on every row, one zlib IDAT chunk), so the runtime can
 * write the demo input pictures without an image library, and samplers can send step previews without the per-call
 * cost of an image library's pipeline.
 */

// zlib's crc32 is the CRC-32 (ISO-HDLC) that PNG chunks use; it needs Node >= 20.15 (or >= 22.2).
import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * Encodes interleaved 8-bit RGB pixels (row-major, width * height * 3 bytes) as a PNG file.
 *
 * @example
 * const png = encodePngRgb(2, 1, new Uint8Array([255, 0, 0, 0, 0, 255])); // a red and a blue pixel
 */
export function encodePngRgb(width: number, height: number, rgb: Uint8Array, options: { level?: number } = {}): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`encodePngRgb: ${width}x${height} RGB needs ${width * height * 3} bytes, got ${rgb.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: options.level ?? 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
