/**
 * A nearly full and a full disk, on a real 8 MB tmpfs mounted by the test (tests run as root; a machine where the
 * mount fails fails this test, it is never skipped): a prompt that cannot be recorded is refused with 507 "disk
 * full"; one whose output or history cannot be written stays visible as failed with "Disk full" and leaves no
 * partial PNG; when space returns the server carries on by itself and the held history entry reaches SQLite.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import { TestClient, getJson, postJson, startTestServer, type TestServer } from './test-support/harness.ts';

const mountPoint = mkdtempSync(join(tmpdir(), 'uso-diskfull-'));
let server: TestServer | undefined;

function freeBytes(): number {
  const s = statfsSync(mountPoint);
  return s.bavail * s.bsize;
}

/** Fills the file system until `leave` bytes are free (a filler file, removed to give space back). */
function fillTo(leave: number, name = 'filler'): void {
  const bytes = freeBytes() - leave;
  if (bytes > 0) writeFileSync(join(mountPoint, name), Buffer.alloc(bytes));
}

const prompt = { load: { class_type: 'LoadImage', inputs: { image: 'noise.png' } }, save: { class_type: 'SaveImage', inputs: { images: ['load', 0], filename_prefix: 'full' } } };

beforeAll(async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]); // throws (fails the test) if impossible
  const dataDir = join(mountPoint, 'data');
  mkdirSync(join(dataDir, 'input'), { recursive: true });
  // 384x384 of noise: a PNG of about 440 KB that no compression shrinks.
  const noise = randomBytes(384 * 384 * 3);
  await sharp(noise, { raw: { width: 384, height: 384, channels: 3 } }).png().toFile(join(dataDir, 'input', 'noise.png'));
  server = await startTestServer({ dataDir, packs: ['@uso-studio/nodes-image'] });
}, 60_000);

afterAll(async () => {
  await server?.close().catch(() => {});
  try {
    execFileSync('umount', [mountPoint]);
  } finally {
    rmSync(mountPoint, { recursive: true, force: true });
  }
});

/** Polls the live server's database (read-only, beside its own connection) until the prompt has no queue row. */
async function waitForNoQueueRow(promptId: string): Promise<void> {
  const db = new Database(join(mountPoint, 'data', 'uso-studio.sqlite'), { readonly: true });
  try {
    const row = db.prepare('SELECT 1 FROM queue WHERE prompt_id = ?');
    // The store retries once a second; ten tries leave room for a loaded machine without hiding a missing release.
    for (let i = 0; i < 100 && row.get(promptId) !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
    expect(row.get(promptId)).toBeUndefined();
  } finally {
    db.close();
  }
}

describe('a nearly full disk', () => {
  it('loses no prompt, leaves no partial output, answers 507 when full, and recovers when space returns', async () => {
    const s = server!;
    const ws = await TestClient.connect(s, 'disk');
    const ok = await postJson(`${s.url}/prompt`, { prompt, client_id: 'disk' });
    expect(ok.status).toBe(200);
    await ws.waitForEnd(ok.body.prompt_id);
    const outputs = () => readdirSync(join(mountPoint, 'data', 'output')).filter((f) => f.endsWith('.png'));
    expect(outputs()).toHaveLength(1);

    // 200 KB left: the prompt is recorded, but its 440 KB PNG cannot be written.
    fillTo(200 * 1024);
    const nearly = await postJson(`${s.url}/prompt`, { prompt: { ...prompt, save: { ...prompt.save, inputs: { ...prompt.save.inputs, filename_prefix: 'nearly' } } }, client_id: 'disk' });
    expect(nearly.status).toBe(200);
    const id = nearly.body.prompt_id as string;
    await ws.waitForEnd(id, 30_000);
    const entry = (await getJson(`${s.url}/history/${id}`)).body[id];
    expect(entry.status.status_str).toBe('error');
    expect(JSON.stringify(entry.status.messages)).toMatch(/Disk full: could not write nearly_00001_\.png/);
    expect(outputs()).toHaveLength(1); // no truncated nearly_*.png

    // Full: nothing can be recorded, so nothing is accepted.
    fillTo(0, 'filler2');
    const full = await postJson(`${s.url}/prompt`, { prompt, client_id: 'disk' });
    expect(full.status).toBe(507);
    expect(full.body.error.type).toBe('disk_full');
    expect(full.body.error.message).toMatch(/^Disk full/);
    expect((await getJson(`${s.url}/history/${id}`)).body[id].status.status_str).toBe('error'); // still visible

    // A prompt recorded while there was room, run once the disk is full: neither its PNG nor its history row can
    // be written. It must not vanish from both /queue and /history.
    rmSync(join(mountPoint, 'filler2'));
    s.queue.pause();
    const late = await postJson(`${s.url}/prompt`, { prompt: { ...prompt, save: { ...prompt.save, inputs: { ...prompt.save.inputs, filename_prefix: 'late' } } }, client_id: 'disk' });
    expect(late.status).toBe(200);
    const lateId = late.body.prompt_id as string;
    // A second one, whose held history entry the user deletes before space returns.
    const gone = await postJson(`${s.url}/prompt`, { prompt: { ...prompt, save: { ...prompt.save, inputs: { ...prompt.save.inputs, filename_prefix: 'gone' } } }, client_id: 'disk' });
    expect(gone.status).toBe(200);
    const goneId = gone.body.prompt_id as string;
    fillTo(0, 'filler2');
    s.queue.resume();
    await ws.waitForEnd(lateId, 30_000);
    await ws.waitForEnd(goneId, 30_000);
    expect(Object.keys((await getJson(`${s.url}/history`)).body)).toContain(goneId);
    expect((await postJson(`${s.url}/history`, { delete: [goneId] })).status).toBe(200);
    expect(Object.keys((await getJson(`${s.url}/history`)).body)).not.toContain(goneId);
    const lateEntry = (await getJson(`${s.url}/history/${lateId}`)).body[lateId];
    expect(lateEntry.status.status_str).toBe('error');
    expect(JSON.stringify(lateEntry.status.messages)).toMatch(/Disk full/);
    expect(Object.keys((await getJson(`${s.url}/history`)).body)).toContain(lateId);
    const queue = (await getJson(`${s.url}/queue`)).body;
    expect([...queue.queue_running, ...queue.queue_pending]).toEqual([]);
    expect(outputs().some((f) => f.startsWith('late_'))).toBe(false);

    // Space returns: the server carries on without a restart.
    rmSync(join(mountPoint, 'filler'));
    rmSync(join(mountPoint, 'filler2'));
    const again = await postJson(`${s.url}/prompt`, { prompt: { ...prompt, save: { ...prompt.save, inputs: { ...prompt.save.inputs, filename_prefix: 'again' } } }, client_id: 'disk' });
    expect(again.status).toBe(200);
    await ws.waitForEnd(again.body.prompt_id, 30_000);
    expect((await getJson(`${s.url}/history/${again.body.prompt_id}`)).body[again.body.prompt_id].status.status_str).toBe('success');
    expect(outputs().some((f) => f.startsWith('again_'))).toBe(true);
    // The deleted entry's queue row went with the retry, without waiting for a restart.
    await waitForNoQueueRow(goneId);
    ws.close();

    // Every prompt that was accepted is in the database once the server has stopped.
    await s.close();
    server = undefined;
    const store = new Store(join(mountPoint, 'data', 'uso-studio.sqlite'));
    try {
      for (const p of [ok.body.prompt_id, id, lateId, again.body.prompt_id]) expect(store.historyEntry(p), p).toBeDefined();
      expect(store.historyEntry(goneId)).toBeUndefined();
      expect(store.queued()).toEqual([]);
    } finally {
      store.close();
    }
  }, 120_000);
});
