import { describe, expect, it } from 'vitest';
import { encodePreviewFrame, parseBinaryFrame } from './binary-frames.ts';

const image = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

describe('parseBinaryFrame', () => {
  it('reads a type 1 preview (format, then bytes)', () => {
    const bytes = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2, ...image]);
    const frame = parseBinaryFrame(bytes.buffer);
    expect(frame).toMatchObject({ kind: 'preview', mime: 'image/png' });
    expect([...(frame as { bytes: Uint8Array }).bytes]).toEqual([...image]);
  });

  it('reads a type 4 preview with its node and prompt', () => {
    const frame = parseBinaryFrame(encodePreviewFrame(image, 'image/jpeg', { node_id: '12:3', display_node_id: '12', prompt_id: 'p1' }));
    expect(frame).toMatchObject({ kind: 'preview', mime: 'image/jpeg', nodeId: '12:3', displayNodeId: '12', promptId: 'p1' });
    expect([...(frame as { bytes: Uint8Array }).bytes]).toEqual([...image]);
  });

  it('round-trips type 1 through the encoder', () => {
    const frame = parseBinaryFrame(encodePreviewFrame(image, 'image/jpeg'));
    expect(frame).toMatchObject({ kind: 'preview', mime: 'image/jpeg' });
  });

  it('passes other event types through as unknown and rejects truncated frames', () => {
    expect(parseBinaryFrame(new Uint8Array([0, 0, 0, 9]))).toEqual({ kind: 'unknown', eventType: 9 });
    expect(() => parseBinaryFrame(new Uint8Array([0, 0]))).toThrow(/no event type/);
    expect(() => parseBinaryFrame(new Uint8Array([0, 0, 0, 4, 0, 0, 1, 0]))).toThrow(/metadata needs 256 bytes/);
  });
});
