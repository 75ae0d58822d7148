/**
 * Telling a full disk from other failures: SQLite reports SQLITE_FULL (or an I/O error while growing its WAL), the
 * file system ENOSPC or EDQUOT. The API answers these with 507 "disk full" rather than a generic 500.
 */

/** True when an error means the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === 'ENOSPC' || code === 'EDQUOT');
}

export const DISK_FULL_MESSAGE = 'Disk full: the server cannot store this request (the data folder has no space left). Free some space and retry; nothing was queued.';
