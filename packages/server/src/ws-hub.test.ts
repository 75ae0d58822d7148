import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WsHub, previewFrame, previewFrameWithMetadata, type HubClient } from './ws-hub.ts';

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

/** A socket stand-in whose waiting bytes the test sets, recording what is sent and how it is closed. */
function fakeSocket() {
  const sent: string[] = [];
  const done: (() => void)[] = [];
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    closeCode: 0,
    terminated: false,
    send(payload: string, cb: () => void) {
      sent.push(payload);
      done.push(cb);
    },
    close(code: number) {
      ws.closeCode = code;
    },
    terminate() {
      ws.terminated = true;
      ws.readyState = 3;
    },
  };
  const client: HubClient = { sid: 's', ws: ws as unknown as WebSocket, previewMetadata: false };
  /** The socket drains: every write completes. */
  const drain = () => {
    ws.bufferedAmount = 0;
    for (const cb of done.splice(0)) cb();
  };
  const types = () => sent.map((t) => { const m = JSON.parse(t) as { type: string; data: { value?: number } }; return m.data?.value !== undefined ? `${m.type}:${m.data.value}` : m.type; });
  return { ws, client, sent, drain, types };
}

describe('slow sockets', () => {
  const hub = () => new WsHub({ onConnect: () => {}, features: {}, coalesceAboveBytes: 1000, closeAboveBytes: 10_000 });

  it('coalesce progress to the latest per node while congested, keeping order with other messages', () => {
    const h = hub();
    const { ws, client, drain, types } = fakeSocket();
    h.sendToClient(client, 'progress', { prompt_id: 'p', node: '1', value: 1 });
    ws.bufferedAmount = 5000; // the client stopped reading
    for (let i = 2; i <= 1000; i++) {
      h.sendToClient(client, 'progress', { prompt_id: 'p', node: '1', value: i });
      h.sendToClient(client, 'progress_state', { prompt_id: 'p', nodes: {} });
    }
    expect(types()).toEqual(['progress:1']);
    // A message that cannot be dropped goes out after the latest held progress, not before it.
    h.sendToClient(client, 'executing', { prompt_id: 'p', node: '2' });
    expect(types()).toEqual(['progress:1', 'progress:1000', 'progress_state', 'executing']);
    h.sendToClient(client, 'progress', { prompt_id: 'p', node: '2', value: 1 });
    h.sendToClient(client, 'progress', { prompt_id: 'p', node: '2', value: 2 });
    drain(); // the client reads again: what was held is sent
    expect(types().slice(4)).toEqual(['progress:2']);
  });

  it('close a socket past the byte limit with 1008 and drop it at once', () => {
    const h = hub();
    const { ws, client, types } = fakeSocket();
    ws.bufferedAmount = 20_000;
    h.sendToClient(client, 'executing', { prompt_id: 'p', node: '2' });
    expect(ws.closeCode).toBe(1008);
    expect(ws.terminated).toBe(true);
    expect(types()).toEqual([]);
    expect(client.held).toBeUndefined();
  });
});
