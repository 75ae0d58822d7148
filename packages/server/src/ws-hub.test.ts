import { describe, expect, it } from 'vitest';
import { previewFrame, previewFrameWithMetadata } from './ws-hub.ts';

describe('preview frames', () => {
  const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0x00]);

  it('type 1: event, format, bytes (big-endian)', () => {
    const f = previewFrame('JPEG', bytes);
    expect([...f.subarray(0, 8)]).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    expect([...f.subarray(8)]).toEqual([...bytes]);
    expect(previewFrame('PNG', bytes).readUInt32BE(4)).toBe(2);
  });

  it('type 4: event, metadata length, metadata JSON, bytes', () => {
    const f = previewFrameWithMetadata({ prompt_id: 'p', node_id: '3', display_node_id: '3', format: 'JPEG', bytes });
    expect(f.readUInt32BE(0)).toBe(4);
    const len = f.readUInt32BE(4);
    expect(JSON.parse(f.subarray(8, 8 + len).toString())).toEqual({ node_id: '3', display_node_id: '3', parent_node_id: null, real_node_id: '3', prompt_id: 'p', image_type: 'image/jpeg' });
    expect([...f.subarray(8 + len)]).toEqual([...bytes]);
  });
});
