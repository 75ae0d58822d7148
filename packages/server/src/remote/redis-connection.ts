/**
 * Redis connections from a `--queue` URL: `redis://[[user]:password@]host:port[/db]` (or `rediss://` for TLS).
 * Every connection retries for ever with a short back-off, so a Redis restart is a pause, not a failure.
 */
import { Redis } from 'ioredis';

export interface QueueUrl {
  url: string;
  /** The URL with any password replaced by `***`, for logs and /system_stats. */
  display: string;
}

export function parseQueueUrl(url: string): QueueUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--queue must be a redis:// URL (redis://HOST:PORT[/DB]), not '${url}'`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`--queue must be a redis:// or rediss:// URL, not '${parsed.protocol}'`);
  }
  if (!parsed.hostname) throw new Error(`--queue URL '${url}' names no host`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`--queue URL database must be a number, not '${db}'`);
  const display = new URL(url);
  if (display.password) display.password = '***';
  return { url, display: display.toString() };
}

/**
 * A new connection. BullMQ's blocking commands need `maxRetriesPerRequest: null`; the same setting makes ordinary
 * commands wait through a Redis restart instead of failing after a few retries.
 */
export function connectRedis(queue: QueueUrl, name: string, log?: (line: string) => void): Redis {
  const redis = new Redis(queue.url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(50 + times * 50, 1000),
  });
  // One line per outage, not one per retry.
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log?.(`Redis connection '${name}' lost (${error.message}); reconnecting`);
  });
  redis.on('ready', () => {
    if (down) log?.(`Redis connection '${name}' back`);
    down = false;
  });
  return redis;
}
