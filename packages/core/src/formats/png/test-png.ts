/**
 * Test helper: builds small valid PNGs chunk by chunk, so the tests control exactly which chunks a file holds.
 */

import { PNG_SIGNATURE, makeChunk, zlibDeflate } from './png-text.ts';

/** A 1x1 RGB PNG (IHDR, IDAT, IEND) with `extra` chunks placed between IHDR and IDAT. */
export async function tinyPng(extra: readonly Uint8Array[] = []): Promise<Uint8Array> {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, 1); // width
  view.setUint32(4, 1); // height
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, filter 0, no interlace
  const scanline = new Uint8Array([0, 255, 0, 0]); // filter byte + one red pixel
  const parts = [
    PNG_SIGNATURE,
    makeChunk('IHDR', ihdr),
    ...extra,
    makeChunk('IDAT', await zlibDeflate(scanline)),
    makeChunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Concatenates byte arrays. */
export function bytes(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === 'string' ? new TextEncoder().encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p),
  );
  const out = new Uint8Array(arrays.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of arrays) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
