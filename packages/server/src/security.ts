/**
 * Who may talk to the server: an optional bearer token, a Host check against DNS rebinding while serving loopback
 * without a token, and ComfyUI's origin check (made stricter) on state-changing requests and WebSocket upgrades.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './http-error.ts';

export const TOKEN_COOKIE = 'uso_studio_token';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  if (a.startsWith('::ffff:')) return isLoopbackAddress(a.slice(7));
  return isIP(a) === 4 && a.startsWith('127.');
}

/**
 * A Host header or URL authority split into hostname and port, or undefined when it is not exactly `host`,
 * `host:port` or `[v6]:port` with a decimal port (so `127.0.0.1:8188.evil.example` is no authority at all).
 */
export function parseAuthority(authority: string): { hostname: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^[\]:/@\s]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { hostname: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port };
}

export interface SecurityOptions {
  token?: string;
  /** The server listens on loopback only: requests must then name a loopback Host (DNS-rebinding defence). */
  loopback: boolean;
  /** Extra origins (scheme://host:port) allowed to make state-changing requests, e.g. a dev server. */
  allowedOrigins?: readonly string[];
  /** The port the server listens on; once known (see `bindPort`), a loopback Host must name exactly it. */
  port?: number;
}

export class Security {
  readonly #tokenDigest: Buffer | undefined;
  readonly #o: SecurityOptions;
  #port: number | undefined;
  /** Host headers a proxy in front of us sends: the authorities of the allowed origins (e.g. a dev server's). */
  readonly #proxyHosts: Set<string>;

  constructor(options: SecurityOptions) {
    this.#o = options;
    this.#port = options.port;
    this.#tokenDigest = options.token ? digest(options.token) : undefined;
    this.#proxyHosts = new Set();
    for (const origin of options.allowedOrigins ?? []) {
      try {
        this.#proxyHosts.add(new URL(origin).host.toLowerCase());
      } catch {
        // Not a URL: it can only ever match an Origin header literally.
      }
    }
  }

  /** Sets the port Host headers must name (known only after listening when port 0 was asked for). */
  bindPort(port: number): void {
    this.#port = port;
  }

  /**
   * A loopback Host header naming exactly this server: a loopback hostname and our port (or no port only when we
   * listen on 80), or exactly the host of an allowed origin (a dev server proxying to us keeps its own Host).
   */
  #hostAllowed(host: string | undefined): boolean {
    if (!host) return false;
    if (this.#proxyHosts.has(host.toLowerCase())) return true;
    const parsed = parseAuthority(host);
    if (!parsed || !isLoopbackAddress(parsed.hostname)) return false;
    if (this.#port === undefined) return true;
    return (parsed.port ?? 80) === this.#port;
  }

  get hasToken(): boolean {
    return this.#tokenDigest !== undefined;
  }

  /** Constant-time token comparison. */
  checkToken(candidate: string): boolean {
    if (!this.#tokenDigest) return true;
    return timingSafeEqual(digest(candidate), this.#tokenDigest);
  }

  /** Why this request must be refused, or undefined. Shared by HTTP and WebSocket upgrades. */
  refusal(req: IncomingMessage, stateChanging: boolean): { status: number; message: string } | undefined {
    const host = req.headers.host;
    if (this.#o.loopback && !this.hasToken && !this.#hostAllowed(host)) {
      return { status: 403, message: 'Host header must name this server on a loopback address (host and port)' };
    }
    if (!stateChanging) return undefined;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (this.#o.allowedOrigins?.includes(origin)) return undefined;
      let originHost: string;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        return { status: 403, message: 'Cross-origin request refused' };
      }
      if (!host || originHost !== host.toLowerCase()) return { status: 403, message: 'Cross-origin request refused' };
    } else if (req.headers['sec-fetch-site'] === 'cross-site') {
      return { status: 403, message: 'Cross-site request refused' };
    }
    return undefined;
  }

  /** The token a request carries: `Authorization: Bearer`, the session cookie, or (GET/HEAD only) `?token=`. */
  tokenOf(req: IncomingMessage, url: URL): { token: string; fromQuery: boolean } | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return { token: auth.slice(7).trim(), fromQuery: false };
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== undefined) return { token: cookie, fromQuery: false };
    const q = url.searchParams.get('token');
    if (q !== null && (req.method === 'GET' || req.method === 'HEAD')) return { token: q, fromQuery: true };
    return undefined;
  }

  /** Express middleware: host/origin checks, then the token. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const stateChanging = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
      const refused = this.refusal(req, stateChanging);
      if (refused) throw new HttpError(refused.status, refused.message);
      if (!this.hasToken) return next();
      const found = this.tokenOf(req, new URL(req.originalUrl, 'http://x'));
      if (!found || !this.checkToken(found.token)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        throw new HttpError(401, 'Missing or wrong auth token (send Authorization: Bearer <token>)');
      }
      // A browser that opened ?token= keeps working: the cookie is SameSite=Strict, so other sites cannot ride on it.
      if (found.fromQuery) res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(found.token)}; HttpOnly; SameSite=Strict; Path=/`);
      next();
    };
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
