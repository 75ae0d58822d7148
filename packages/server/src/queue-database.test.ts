import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { QueueDatabaseError, moveQueueDatabaseAside } from './queue-database.ts';
import { Store } from './store.ts';
import { MAIN_ENTRY, TEST_PACK, tempDataDir } from './test-support/harness.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}

/** A real store file with enough history rows to span many pages, then pages in its middle overwritten. */
function damagedDatabase(file: string): void {
  const db = new Database(file);
  db.exec('CREATE TABLE history (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO history (entry) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 400; i++) insert.run('x'.repeat(200) + i);
  })();
  db.close();
  const bytes = readFileSync(file);
  bytes.fill(0xa5, 4096 * 2, 4096 * 6); // pages 3..6: b-tree pages of the table
  writeFileSync(file, bytes);
}

function runMain(dataDir: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN_ENTRY, '--port', '0', '--data', dataDir, '--extra-packs', TEST_PACK, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      // Started: stop it; the test only needs to know it came up.
      if (/listening on/.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a corrupt or unreadable queue database', () => {
  it('is refused with a message naming the file, what is lost and how to recover', () => {
    const dir = freshDir();
    const notDb = join(dir, 'not-a-db.sqlite');
    writeFileSync(notDb, 'this is not an SQLite file '.repeat(200));
    expect(() => new Store(notDb)).toThrow(QueueDatabaseError);
    expect(() => new Store(notDb)).toThrow(new RegExp(`${notDb.replace(/[.]/g, '\\.')} cannot be used: it is not an SQLite database.*--reset-queue.*output/ .*kept`));

    const damaged = join(dir, 'damaged.sqlite');
    damagedDatabase(damaged);
    expect(() => new Store(damaged)).toThrow(/damaged\.sqlite cannot be used: .*--reset-queue/);
  });

  it('moves the database and its WAL files aside, keeping them', () => {
    const dir = freshDir();
    const file = join(dir, 'q.sqlite');
    writeFileSync(file, 'a');
    writeFileSync(`${file}-wal`, 'b');
    const moved = moveQueueDatabaseAside(file, new Date('2026-01-02T03:04:05.006Z'))!;
    expect(moved).toBe(`${file}.corrupt-2026-01-02T03-04-05-006Z`);
    expect(readFileSync(moved, 'utf8')).toBe('a');
    expect(readFileSync(`${moved}-wal`, 'utf8')).toBe('b');
    expect(existsSync(file)).toBe(false);
    expect(moveQueueDatabaseAside(file)).toBeUndefined();
  });

  it('stops a real server process with that message; --reset-queue starts it fresh', async () => {
    const dataDir = freshDir();
    const file = 'uso-studio.sqlite'; // the data folder's queue database (data-dir.ts)
    const dbFile = join(dataDir, file);
    writeFileSync(dbFile, Buffer.alloc(8192, 0x42));

    const refused = await runMain(dataDir);
    expect(refused.code).toBe(1);
    expect(refused.stdout).not.toMatch(/listening on/);
    expect(refused.stderr).toContain(`The queue database ${dbFile} cannot be used`);
    expect(refused.stderr).toMatch(/--reset-queue/);

    const reset = await runMain(dataDir, ['--reset-queue']);
    expect(reset.stdout).toMatch(/listening on/);
    expect(reset.stderr).toMatch(/--reset-queue: moved the queue database to .*\.corrupt-/);
    const kept = readdirSync(dataDir).filter((f) => f.startsWith(`${file}.corrupt-`) && !f.endsWith('-wal') && !f.endsWith('-shm'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dataDir, kept[0]!))).toEqual(Buffer.alloc(8192, 0x42));
  }, 60_000);
});
