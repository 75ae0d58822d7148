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

/** The hostname of a Host header or URL authority (`[::1]:8188` → `::1`). */
export function hostnameOf(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']')).toLowerCase();
  const colon = authority.lastIndexOf(':');
  return (colon > 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority).toLowerCase();
}

export interface SecurityOptions {
  token?: string;
  /** The server listens on loopback only: requests must then name a loopback Host (DNS-rebinding defence). */
  loopback: boolean;
  /** Extra origins (scheme://host:port) allowed to make state-changing requests, e.g. a dev server. */
  allowedOrigins?: readonly string[];
}

export class Security {
  readonly #tokenDigest: Buffer | undefined;
  readonly #o: SecurityOptions;

  constructor(options: SecurityOptions) {
    this.#o = options;
    this.#tokenDigest = options.token ? digest(options.token) : undefined;
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
    if (this.#o.loopback && !this.hasToken && (!host || !isLoopbackAddress(hostnameOf(host)))) {
      return { status: 403, message: 'Host header must name a loopback address' };
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
