/**
 * The server's side of file transfer with remote workers: a worker fetches the input images a prompt needs and sends
 * back each output file. Each request carries a token that authorises one prompt's transfers and nothing else (an
 * HMAC of the prompt id under a secret kept in the data directory), so a worker never holds the server's own token,
 * and a token survives a server restart. Names are checked exactly as /view and /upload check them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import type { Request, Router } from 'express';
import type { HostEnvironment } from '@uso-studio/core';
import { HttpError, errorBody } from '../http-error.ts';
import { checkFileName, resolveExistingFile, resolveWritableDir } from '../safe-path.ts';

/** Mounted before the security middleware: these requests authenticate with a per-prompt token instead. */
export const TRANSFER_PATH = '/uso-remote';

export class TransferTokens {
  readonly #secret: Buffer;

  /** Reads the secret from `file`, creating it (mode 0600) on first use. */
  constructor(file: string) {
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    this.#secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  }

  tokenFor(promptId: string): string {
    return createHmac('sha256', this.#secret).update(promptId).digest('hex');
  }

  check(promptId: string, token: string): boolean {
    const want = Buffer.from(this.tokenFor(promptId));
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

export function transferRouter(env: Pick<HostEnvironment, 'inputDir' | 'outputDir' | 'tempDir'>, tokens: TransferTokens, maxBytes: number): Router {
  const r = express.Router();
  const authorise = (req: Request): string => {
    const promptId = String(req.query.prompt_id ?? '');
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!promptId || !tokens.check(promptId, token)) throw new HttpError(401, 'This transfer token does not authorise that prompt');
    return promptId;
  };

  r.get('/input', (req, res, next) => {
    try {
      authorise(req);
      const file = resolveExistingFile(env.inputDir, String(req.query.subfolder ?? ''), String(req.query.filename ?? ''));
      res.type('application/octet-stream');
      createReadStream(file).on('error', next).pipe(res);
    } catch (error) {
      next(error);
    }
  });

  // The body is the file. An existing file of the same name is never overwritten: the answer names the file kept.
  r.put('/output', async (req, res, next) => {
    try {
      authorise(req);
      const type = String(req.query.type ?? 'output');
      if (type !== 'output' && type !== 'temp') throw new HttpError(400, "type must be 'output' or 'temp'");
      const subfolder = String(req.query.subfolder ?? '');
      const filename = checkFileName(String(req.query.filename ?? ''));
      const length = Number(req.headers['content-length'] ?? NaN);
      if (!(length <= maxBytes)) throw new HttpError(413, `An output file must be sent with a Content-Length of at most ${maxBytes} bytes`);
      const dir = resolveWritableDir(type === 'temp' ? env.tempDir : env.outputDir, subfolder);
      const partial = join(dir, `.${filename}.${randomBytes(6).toString('hex')}.part`);
      try {
        await pipeline(req, createWriteStream(partial, { flags: 'wx' }));
        res.json({ filename: linkUnderFreeName(partial, dir, filename), subfolder, type });
      } finally {
        rmSync(partial, { force: true });
      }
    } catch (error) {
      next(error);
    }
  });

  r.use((error: unknown, _req: Request, res: express.Response, _next: express.NextFunction) => {
    const status = error instanceof HttpError ? error.status : 500;
    res.status(status).json(error instanceof HttpError ? error.body : errorBody(500, 'Transfer failed'));
  });
  return r;
}

/** Links `file` as `name`, or `stem_2.ext`, `stem_3.ext`... whichever is free (a link never replaces a file). */
function linkUnderFreeName(file: string, dir: string, name: string): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? name : `${stem}_${i}${ext}`;
    try {
      linkSync(file, join(dir, candidate));
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
