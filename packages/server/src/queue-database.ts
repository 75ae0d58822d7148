/**
 * Opening the queue database safely: a file that is not SQLite, or whose pages are damaged, stops the server with a
 * message naming the file and saying how to recover, instead of an SQLite code or a half-working queue; and
 * `--reset-queue` moves the database aside (never deletes it) so the server starts with an empty queue and history.
 */
import { existsSync, renameSync } from 'node:fs';
import Database from 'better-sqlite3';

/** The queue database cannot be opened or is damaged. The server does not start. */
export class QueueDatabaseError extends Error {
  override name = 'QueueDatabaseError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(
      `The queue database ${file} cannot be used: ${reason}. ` +
        `Its pending prompts and history cannot be read. To recover, stop anything using it and either start with ` +
        `--reset-queue (moves ${file} and its -wal/-shm files aside to ${file}.corrupt-<time> and starts with an empty ` +
        `queue and history) or move those files aside yourself. Lost: the pending prompts and the history list; images ` +
        `in output/ and everything in models/ and input/ are kept.`,
    );
  }
}

/** The database file and its WAL companions. */
function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`];
}

/**
 * Moves the database (and its -wal/-shm files) to `<file>.corrupt-<ISO time>`; returns the new name of the main
 * file, or undefined when there was none.
 */
export function moveQueueDatabaseAside(file: string, now = new Date()): string | undefined {
  if (!existsSync(file)) return undefined;
  const suffix = `.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  for (const f of databaseFiles(file)) if (existsSync(f)) renameSync(f, `${file}${suffix}${f.slice(file.length)}`);
  return `${file}${suffix}`;
}

/**
 * Opens the database and checks it before anything reads it: SQLite's header (any query fails on a non-database
 * file) and `quick_check` of every page's structure. `init` (tables, pragmas, statements) runs inside the same
 * guard. Throws QueueDatabaseError.
 */
export function openQueueDatabase(file: string, init: (db: Database.Database) => void): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') throw new Error(`SQLite's integrity check reports: ${String(check).replace(/\s+/g, ' ')}`);
    init(db);
    return db;
  } catch (error) {
    db?.close();
    const e = error as { code?: string; message?: string };
    throw new QueueDatabaseError(file, `${e.code === 'SQLITE_NOTADB' ? 'it is not an SQLite database' : e.code === 'SQLITE_CORRUPT' ? 'it is damaged' : (e.message ?? String(error))}${e.code ? ` (${e.code})` : ''}`);
  }
}
