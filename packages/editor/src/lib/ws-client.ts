/**
 * The editor's WebSocket to the server's /ws. It reconnects by itself with a capped backoff, keeps the same clientId
 * so the server keeps routing this tab's prompt events here, and decodes binary preview frames.
 */
import { parseBinaryFrame, type PreviewFrame } from './binary-frames.ts';

/** The parts of the browser's WebSocket this client uses; tests pass a fake. */
export interface SocketLike {
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  close(): void;
}
export type SocketFactory = (url: string) => SocketLike;

/** A text frame `{type, data}`, or a decoded preview frame. */
export type ServerMessage =
  | { type: string; data: Record<string, unknown> }
  | { type: 'preview_image'; data: PreviewFrame };

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface WsClientOptions {
  /** e.g. `ws://127.0.0.1:8188/ws` (the clientId is appended). */
  url: string;
  clientId: string;
  createSocket?: SocketFactory;
  /** First retry delay; each failed attempt doubles it up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class WsClient {
  readonly clientId: string;
  #opts: Required<Omit<WsClientOptions, 'clientId'>>;
  #socket: SocketLike | null = null;
  #timer: unknown = null;
  #attempt = 0;
  #stopped = true;
  #state: ConnectionState = 'closed';
  #messageListeners = new Set<(msg: ServerMessage) => void>();
  #stateListeners = new Set<(state: ConnectionState, attempt: number) => void>();

  constructor(options: WsClientOptions) {
    this.clientId = options.clientId;
    this.#opts = {
      url: options.url,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      initialDelayMs: options.initialDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 5000,
      setTimer: options.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
    };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Subscribes to server messages; returns the unsubscribe function. */
  onMessage(listener: (msg: ServerMessage) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** Subscribes to connection state changes (`attempt` counts failed reconnects). */
  onState(listener: (state: ConnectionState, attempt: number) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  connect(): void {
    this.#stopped = false;
    this.#open();
  }

  /** Closes for good: no more reconnects. */
  close(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#opts.clearTimer(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    this.#setState('closed');
  }

  /** The delay before reconnect attempt `attempt` (1-based). */
  delayFor(attempt: number): number {
    return Math.min(this.#opts.maxDelayMs, this.#opts.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  }

  #open(): void {
    if (this.#stopped) return;
    this.#setState(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    const sep = this.#opts.url.includes('?') ? '&' : '?';
    let socket: SocketLike;
    try {
      socket = this.#opts.createSocket(`${this.#opts.url}${sep}clientId=${encodeURIComponent(this.clientId)}`);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.#attempt = 0;
      this.#setState('open');
    };
    socket.onmessage = (ev) => this.#handle(ev.data);
    socket.onerror = () => {
      // A close event always follows an error; reconnecting happens there.
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    this.#attempt++;
    this.#setState('reconnecting');
    this.#timer = this.#opts.setTimer(() => {
      this.#timer = null;
      this.#open();
    }, this.delayFor(this.#attempt));
  }

  #handle(data: unknown): void {
    let msg: ServerMessage;
    if (typeof data === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return;
      }
      if (!parsed || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') return;
      const p = parsed as { type: string; data?: unknown };
      msg = { type: p.type, data: (p.data && typeof p.data === 'object' ? p.data : {}) as Record<string, unknown> };
    } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      let frame;
      try {
        frame = parseBinaryFrame(bytes);
      } catch {
        return;
      }
      if (frame.kind !== 'preview') return;
      msg = { type: 'preview_image', data: frame };
    } else {
      return;
    }
    for (const l of this.#messageListeners) l(msg);
  }

  #setState(state: ConnectionState): void {
    const changed = state !== this.#state || state === 'reconnecting';
    this.#state = state;
    if (changed) for (const l of this.#stateListeners) l(state, this.#attempt);
  }
}
