import { describe, expect, it } from 'vitest';
import { encodePreviewFrame } from './binary-frames.ts';
import { WsClient, type ServerMessage, type SocketLike } from './ws-client.ts';

class FakeSocket implements SocketLike {
  binaryType = 'blob';
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  close() {
    this.closed = true;
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const client = new WsClient({
    url: 'ws://host/ws',
    clientId: 'abc',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    initialDelayMs: 100,
    maxDelayMs: 400,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  });
  const states: string[] = [];
  const messages: ServerMessage[] = [];
  client.onState((s) => states.push(s));
  client.onMessage((m) => messages.push(m));
  return { client, sockets, timers, states, messages };
}

describe('WsClient', () => {
  it('connects with its clientId and reports open', () => {
    const { client, sockets, states } = setup();
    client.connect();
    expect(sockets[0]!.url).toBe('ws://host/ws?clientId=abc');
    expect(sockets[0]!.binaryType).toBe('arraybuffer');
    sockets[0]!.onopen?.({});
    expect(states).toEqual(['connecting', 'open']);
    expect(client.state).toBe('open');
  });

  it('reconnects with a doubling, capped delay, and resets it once connected', () => {
    const { client, sockets, timers, states } = setup();
    client.connect();
    sockets[0]!.onclose?.({});
    expect(states.at(-1)).toBe('reconnecting');
    expect(timers.map((t) => t.ms)).toEqual([100]);
    timers[0]!.fn();
    sockets[1]!.onclose?.({});
    timers[1]!.fn();
    sockets[2]!.onclose?.({});
    timers[2]!.fn();
    sockets[3]!.onclose?.({});
    expect(timers.map((t) => t.ms)).toEqual([100, 200, 400, 400]);
    timers[3]!.fn();
    sockets[4]!.onopen?.({});
    expect(client.state).toBe('open');
    sockets[4]!.onclose?.({});
    expect(timers.at(-1)!.ms).toBe(100);
    expect(sockets.every((s) => s.url.endsWith('clientId=abc'))).toBe(true);
  });

  it('stops reconnecting once closed', () => {
    const { client, sockets, timers } = setup();
    client.connect();
    client.close();
    expect(sockets[0]!.closed).toBe(true);
    sockets[0]!.onclose?.({});
    expect(timers).toEqual([]);
    expect(client.state).toBe('closed');
  });

  it('delivers text messages and decoded preview frames, skipping junk', () => {
    const { client, sockets, messages } = setup();
    client.connect();
    const s = sockets[0]!;
    s.onmessage?.({ data: JSON.stringify({ type: 'progress', data: { value: 1, max: 4 } }) });
    s.onmessage?.({ data: 'not json' });
    s.onmessage?.({ data: JSON.stringify({ nope: true }) });
    s.onmessage?.({ data: encodePreviewFrame(new Uint8Array([1, 2, 3]), 'image/png', { node_id: '5', prompt_id: 'p' }).buffer });
    expect(messages.map((m) => m.type)).toEqual(['progress', 'preview_image']);
    expect(messages[0]!.data).toEqual({ value: 1, max: 4 });
    expect(messages[1]!.data).toMatchObject({ mime: 'image/png', nodeId: '5' });
  });
});
