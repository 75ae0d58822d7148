/**
 * Test helper: builds small valid PNGs chunk by chunk, so the tests control exactly which chunks a file holds.
 */

import { PNG_SIGNATURE, concatBytes, makeChunk, zlibDeflate } from './png-text.ts';

/** A 1x1 RGB PNG (IHDR, IDAT, IEND) with `extra` chunks placed between IHDR and IDAT. */
export async function tinyPng(extra: readonly Uint8Array[] = []): Promise<Uint8Array> {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, 1); // width
  view.setUint32(4, 1); // height
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, filter 0, no interlace
  const scanline = new Uint8Array([0, 255, 0, 0]); // filter byte + one red pixel
  return concatBytes([
    PNG_SIGNATURE,
    makeChunk('IHDR', ihdr),
    ...extra,
    makeChunk('IDAT', await zlibDeflate(scanline)),
    makeChunk('IEND', new Uint8Array(0)),
  ]);
}

/** Concatenates byte arrays. */
export function bytes(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  return concatBytes(
    parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p))),
  );
}
