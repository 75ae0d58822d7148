/**
 * WebSocket /ws?clientId=: ComfyUI's message stream. A prompt's events go only to the sockets of the client that
 * submitted it (to everyone when it was submitted without a client id); `status` goes to everyone. Previews are
 * binary frames: type 1 (u32 format + bytes), or type 4 (u32 JSON length + metadata + bytes) for clients that
 * announced `supports_preview_metadata` in a `feature_flags` message.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';

export interface HubClient {
  sid: string;
  ws: WebSocket;
  previewMetadata: boolean;
  /**
   * Messages held back while the socket is congested, latest per key (progress per prompt and node, progress_state
   * per prompt, status), in first-held order; sent when it drains or before the next message that cannot wait.
   */
  held?: Map<string, string>;
}

export interface WsHubOptions {
  /** Checks a token; undefined when the server has no token. */
  checkToken?: (token: string) => boolean;
  /** Called once a socket is connected (and authenticated). */
  onConnect: (client: HubClient) => void;
  /** What the server announces in answer to a client's `feature_flags`. */
  features: Record<string, unknown>;
  /** Previews are skipped for a socket with more than this many bytes waiting to be sent (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Above this many bytes waiting, progress, progress_state and status are coalesced to the latest (default 64 KiB). */
  coalesceAboveBytes?: number;
  /** A socket with more than this many bytes waiting is closed with 1008 and dropped (default 8 MiB). */
  closeAboveBytes?: number;
}

/** Messages where only the latest matters: a congested socket gets the newest one per key instead of every one. */
function coalesceKey(type: string, data: unknown): string | undefined {
  const d = data as { prompt_id?: unknown; node?: unknown } | null;
  if (type === 'status') return 'status';
  if (type === 'progress_state') return `progress_state\u0000${String(d?.prompt_id)}`;
  if (type === 'progress') return `progress\u0000${String(d?.prompt_id)}\u0000${String(d?.node)}`;
  return undefined;
}

const AUTH_TIMEOUT_MS = 10_000;

export class WsHub {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  readonly #clients = new Map<string, Set<HubClient>>();
  readonly #options: WsHubOptions;

  constructor(options: WsHubOptions) {
    this.#options = options;
  }

  /** Number of open, authenticated sockets. */
  get size(): number {
    let n = 0;
    for (const set of this.#clients.values()) n += set.size;
    return n;
  }

  /** Completes an HTTP upgrade the server already accepted (path, origin and host checked by the caller). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const sid = sanitizeClientId(url.searchParams.get('clientId')) ?? randomUUID().replaceAll('-', '');
      const client: HubClient = { sid, ws, previewMetadata: false };
      const check = this.#options.checkToken;
      const queryToken = url.searchParams.get('token');
      if (!check || (queryToken !== null && check(queryToken))) {
        this.#accept(client);
        return;
      }
      if (queryToken !== null) {
        ws.close(4401, 'invalid token');
        return;
      }
      // No token in the URL: the first message must carry it.
      const timer = setTimeout(() => ws.close(4401, 'authentication required'), AUTH_TIMEOUT_MS);
      ws.once('message', (data, isBinary) => {
        clearTimeout(timer);
        const token = isBinary ? undefined : tokenFromMessage(data.toString());
        if (token !== undefined && check(token)) this.#accept(client);
        else ws.close(4401, 'invalid token');
      });
    });
  }

  #accept(client: HubClient): void {
    const { ws, sid } = client;
    let set = this.#clients.get(sid);
    if (!set) this.#clients.set(sid, (set = new Set()));
    set.add(client);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: { type?: unknown; data?: unknown };
      try {
        msg = JSON.parse(data.toString()) as typeof msg;
      } catch {
        return;
      }
      if (msg?.type === 'feature_flags') {
        const flags = msg.data as Record<string, unknown> | null;
        client.previewMetadata = flags?.supports_preview_metadata === true;
        this.#sendTo(client, JSON.stringify({ type: 'feature_flags', data: this.#options.features }));
      }
    });
    ws.on('close', () => {
      client.held = undefined;
      set.delete(client);
      if (set.size === 0 && this.#clients.get(sid) === set) this.#clients.delete(sid);
    });
    ws.on('error', () => ws.terminate());
    this.#options.onConnect(client);
  }

  /** Sends `{type, data}` to one client's sockets, or to all when `sid` is null. */
  send(sid: string | null, type: string, data: unknown): void {
    const text = JSON.stringify({ type, data });
    const key = coalesceKey(type, data);
    if (sid === null) {
      for (const set of this.#clients.values()) for (const c of set) this.#sendMessage(c, text, key);
    } else {
      const set = this.#clients.get(sid);
      if (set) for (const c of set) this.#sendMessage(c, text, key);
    }
  }

  /** Sends to one socket (the connect-time status and replay). */
  sendToClient(client: HubClient, type: string, data: unknown): void {
    this.#sendMessage(client, JSON.stringify({ type, data }), coalesceKey(type, data));
  }

  /**
   * A JSON message to one socket, bounded: while more than coalesceAboveBytes wait, a coalescable message replaces
   * the held one of its key; any other message first sends what is held (so the order of what arrives stays right),
   * and a socket that still has more than closeAboveBytes waiting is closed.
   */
  #sendMessage(client: HubClient, text: string, key: string | undefined): void {
    const ws = client.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (key !== undefined && (client.held?.size || ws.bufferedAmount > (this.#options.coalesceAboveBytes ?? 64 * 1024))) {
      client.held ??= new Map();
      client.held.delete(key); // re-inserted last: held messages go out in the order of their latest version
      client.held.set(key, text);
      return;
    }
    this.#flushHeld(client);
    this.#sendTo(client, text);
  }

  /** Sends the held messages now. */
  #flushHeld(client: HubClient): void {
    const held = client.held;
    if (!held?.size) return;
    client.held = undefined;
    for (const text of held.values()) this.#sendTo(client, text);
  }

  /** A preview as binary frame type 4 (metadata-aware clients) or type 1 (the rest). */
  sendPreview(
    sid: string | null,
    preview: Parameters<typeof previewFrameWithMetadata>[0],
  ): void {
    const targets = sid === null ? [...this.#clients.values()].flatMap((s) => [...s]) : [...(this.#clients.get(sid) ?? [])];
    if (targets.length === 0) return;
    let plain: Buffer | undefined;
    let withMeta: Buffer | undefined;
    const limit = this.#options.maxBufferedBytes ?? 1024 * 1024;
    for (const c of targets) {
      // A slow client loses previews rather than growing the server's memory.
      if (c.ws.bufferedAmount > limit) continue;
      if (c.previewMetadata) {
        withMeta ??= previewFrameWithMetadata(preview);
        this.#sendTo(c, withMeta);
      } else {
        plain ??= previewFrame(preview.format, preview.bytes);
        this.#sendTo(c, plain);
      }
    }
  }

  #sendTo(client: HubClient, payload: string | Buffer): void {
    const ws = client.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > (this.#options.closeAboveBytes ?? 8 * 1024 * 1024)) {
      // A client that does not read: close it (1008, policy) and free what it holds at once; the close frame
      // cannot get past its full buffer anyway, so the socket is destroyed rather than waiting for a handshake.
      client.held = undefined;
      ws.close(1008, 'client too slow: too many unread messages');
      ws.terminate();
      return;
    }
    // Once this write is done the socket may have drained: send what was held back meanwhile.
    ws.send(payload, () => {
      if (client.held?.size && ws.bufferedAmount <= (this.#options.coalesceAboveBytes ?? 64 * 1024)) this.#flushHeld(client);
    });
  }

  /** Closes every socket (server shutdown). */
  close(): void {
    for (const set of this.#clients.values()) for (const c of set) c.ws.terminate();
    this.#clients.clear();
    this.#wss.close();
  }
}

/** Binary frame type 1: u32 BE event type, u32 BE format (1 JPEG, 2 PNG), image bytes. */
export function previewFrame(format: 'JPEG' | 'PNG', bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(8 + bytes.byteLength);
  frame.writeUInt32BE(1, 0);
  frame.writeUInt32BE(format === 'JPEG' ? 1 : 2, 4);
  frame.set(bytes, 8);
  return frame;
}

/** Binary frame type 4: u32 BE event type, u32 BE metadata length, metadata JSON, image bytes. */
export function previewFrameWithMetadata(p: {
  prompt_id: string;
  node_id: string;
  display_node_id: string;
  parent_node_id?: string | null;
  real_node_id?: string;
  format: 'JPEG' | 'PNG';
  bytes: Uint8Array;
}): Buffer {
  const meta = Buffer.from(
    JSON.stringify({
      node_id: p.node_id,
      display_node_id: p.display_node_id,
      parent_node_id: p.parent_node_id ?? null,
      real_node_id: p.real_node_id ?? p.node_id,
      prompt_id: p.prompt_id,
      image_type: p.format === 'JPEG' ? 'image/jpeg' : 'image/png',
    }),
  );
  const frame = Buffer.allocUnsafe(8 + meta.length + p.bytes.byteLength);
  frame.writeUInt32BE(4, 0);
  frame.writeUInt32BE(meta.length, 4);
  meta.copy(frame, 8);
  frame.set(p.bytes, 8 + meta.length);
  return frame;
}

function sanitizeClientId(id: string | null): string | undefined {
  if (!id) return undefined;
  // Any id POST /prompt accepts as client_id (up to 256 characters, no control characters) must match here too.
  // eslint-disable-next-line no-control-regex
  return id.length <= 256 && !/[\u0000-\u001f\u007f]/.test(id) ? id : undefined;
}

/** The token in a first message: `{type:'auth', token}` or `{type:'auth', data:{token}}`. */
function tokenFromMessage(text: string): string | undefined {
  try {
    const msg = JSON.parse(text) as { type?: unknown; token?: unknown; data?: { token?: unknown } };
    if (msg?.type !== 'auth') return undefined;
    const token = msg.token ?? msg.data?.token;
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}
