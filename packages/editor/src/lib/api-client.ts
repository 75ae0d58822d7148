/**
 * The editor's HTTP client for ComfyUI's routes (served under /api). It only speaks the wire shapes; no UI state.
 */
import type { ObjectInfo } from './object-info.ts';

/** A file reference as ComfyUI returns them in outputs and uploads. */
export interface ImageRef { filename: string; subfolder: string; type: string }

/** `[number, prompt_id, prompt, extra_data, outputs_to_execute]`, as /queue lists them. */
export type QueueItem = [number, string, Record<string, unknown>, Record<string, unknown>, string[]];

export interface HistoryEntry {
  promptId: string;
  prompt: QueueItem;
  outputs: Record<string, Record<string, unknown>>;
  status: { status_str: string; completed: boolean; messages?: [string, Record<string, unknown>][] };
}

export interface NodeError { errors: { type: string; message: string; details: string; extra_info?: unknown }[]; class_type: string; dependent_outputs?: string[] }

/** A 400 from POST /prompt: the prompt failed validation. */
export class PromptRejectedError extends Error {
  override readonly name = 'PromptRejectedError';
  constructor(
    readonly error: { type: string; message: string; details?: string },
    readonly nodeErrors: Record<string, NodeError>,
  ) {
    super(error.details ? `${error.message}: ${error.details}` : error.message);
  }
}

/** A /userdata file exists and overwriting was not asked for (HTTP 409). */
export class UserdataExistsError extends Error {
  override readonly name = 'UserdataExistsError';
  constructor(readonly file: string) {
    super(`${file} already exists`);
  }
}

/** One file of a /userdata listing with `full_info`: `path` relative to the listed folder, `modified` in seconds. */
export interface UserdataEntry { path: string; size: number; modified: number }

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiClient {
  readonly base: string;
  #fetch: FetchLike;

  /** `base` is the server origin ('' for the page's own); every route goes under `${base}/api`. */
  constructor(base = '', fetchImpl?: FetchLike) {
    this.base = base.replace(/\/$/, '');
    this.#fetch = fetchImpl ?? ((input, init) => fetch(input, init));
  }

  url(path: string): string {
    return `${this.base}/api${path}`;
  }

  /** The WebSocket URL for the page's origin (or `base`). */
  wsUrl(location: { protocol: string; host: string }): string {
    if (this.base) return `${this.base.replace(/^http/, 'ws')}/ws`;
    return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
  }

  async objectInfo(): Promise<ObjectInfo> {
    return (await this.#json('/object_info')) as ObjectInfo;
  }

  /** Queues a prompt; a validation failure throws {@link PromptRejectedError}. */
  async queuePrompt(body: { prompt: unknown; prompt_id?: string; client_id: string; extra_data?: unknown; front?: boolean }): Promise<{ prompt_id: string; number: number; node_errors: Record<string, NodeError> }> {
    const res = await this.#fetch(this.url('/prompt'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status === 400 || (!res.ok && payload.error)) {
      const err = (payload.error && typeof payload.error === 'object' ? payload.error : { type: 'error', message: String(payload.error ?? res.statusText) }) as { type: string; message: string; details?: string };
      throw new PromptRejectedError(err, (payload.node_errors ?? {}) as Record<string, NodeError>);
    }
    if (!res.ok) throw new Error(`POST /prompt failed: ${res.status} ${res.statusText}`);
    return payload as { prompt_id: string; number: number; node_errors: Record<string, NodeError> };
  }

  async getQueue(): Promise<{ running: QueueItem[]; pending: QueueItem[] }> {
    const q = (await this.#json('/queue')) as { queue_running?: QueueItem[]; queue_pending?: QueueItem[] };
    const byNumber = (a: QueueItem, b: QueueItem) => a[0] - b[0];
    return { running: [...(q.queue_running ?? [])].sort(byNumber), pending: [...(q.queue_pending ?? [])].sort(byNumber) };
  }

  async cancelPending(promptIds: string[]): Promise<void> {
    await this.#post('/queue', { delete: promptIds });
  }

  async clearQueue(): Promise<void> {
    await this.#post('/queue', { clear: true });
  }

  /** Stops the running prompt (only `promptId`, when given). */
  async interrupt(promptId?: string): Promise<void> {
    await this.#post('/interrupt', promptId ? { prompt_id: promptId } : {});
  }

  /** Newest first. */
  async getHistory(maxItems = 64): Promise<HistoryEntry[]> {
    const raw = (await this.#json(`/history?max_items=${maxItems}`)) as Record<string, Omit<HistoryEntry, 'promptId'>>;
    return Object.entries(raw).map(([promptId, e]) => ({ promptId, ...e })).reverse();
  }

  async clearHistory(): Promise<void> {
    await this.#post('/history', { clear: true });
  }

  async deleteHistory(promptIds: string[]): Promise<void> {
    await this.#post('/history', { delete: promptIds });
  }

  /** Uploads an input image; the server may rename it, so use the returned name. */
  async uploadImage(file: Blob, filename: string): Promise<{ name: string; subfolder: string; type: string }> {
    const form = new FormData();
    form.append('image', file, filename);
    form.append('type', 'input');
    const res = await this.#fetch(this.url('/upload/image'), { method: 'POST', body: form });
    if (!res.ok) throw new Error(`upload of ${filename} failed: ${res.status} ${await res.text().catch(() => '')}`);
    return (await res.json()) as { name: string; subfolder: string; type: string };
  }

  /**
   * ComfyUI's mask editor save: the painted mask goes to `input/clipspace/`, and the server stores the original
   * picture with the mask's alpha under that name (`original_ref` names the original).
   */
  async uploadMask(mask: Blob, filename: string, original: ImageRef): Promise<{ name: string; subfolder: string; type: string }> {
    const form = new FormData();
    form.append('image', mask, filename);
    form.append('type', 'input');
    form.append('subfolder', 'clipspace');
    form.append('original_ref', JSON.stringify(original));
    const res = await this.#fetch(this.url('/upload/mask'), { method: 'POST', body: form });
    if (!res.ok) throw new Error(`saving the mask failed: ${res.status} ${await res.text().catch(() => '')}`);
    return (await res.json()) as { name: string; subfolder: string; type: string };
  }

  // ---- per-user files (ComfyUI's /userdata routes; `file` is relative to the user's folder, e.g. workflows/a.json) ----

  /** Files under `dir` (recursively), with size and modified time; an absent folder lists as empty. */
  async listUserdata(dir: string): Promise<UserdataEntry[]> {
    const q = new URLSearchParams({ dir, recurse: 'true', split: 'false', full_info: 'true' });
    const res = await this.#fetch(this.url(`/userdata?${q.toString()}`));
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`listing ${dir} failed: ${res.status} ${await res.text().catch(() => '')}`);
    return (await res.json()) as UserdataEntry[];
  }

  async readUserdata(file: string): Promise<string> {
    const res = await this.#fetch(this.url(`/userdata/${encodeURIComponent(file)}`));
    if (!res.ok) throw new Error(`reading ${file} failed: ${res.status} ${await res.text().catch(() => '')}`);
    return res.text();
  }

  /** Writes a file; without `overwrite` an existing file is a {@link UserdataExistsError}. */
  async writeUserdata(file: string, body: string, overwrite: boolean): Promise<void> {
    const res = await this.#fetch(this.url(`/userdata/${encodeURIComponent(file)}?overwrite=${overwrite}&full_info=true`), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body,
    });
    if (res.status === 409) throw new UserdataExistsError(file);
    if (!res.ok) throw new Error(`saving ${file} failed: ${res.status} ${await res.text().catch(() => '')}`);
  }

  async deleteUserdata(file: string): Promise<void> {
    const res = await this.#fetch(this.url(`/userdata/${encodeURIComponent(file)}`), { method: 'DELETE' });
    if (!res.ok) throw new Error(`deleting ${file} failed: ${res.status} ${await res.text().catch(() => '')}`);
  }

  /** Renames a file; without `overwrite` an existing destination is a {@link UserdataExistsError}. */
  async moveUserdata(file: string, dest: string, overwrite: boolean): Promise<void> {
    const res = await this.#fetch(this.url(`/userdata/${encodeURIComponent(file)}/move/${encodeURIComponent(dest)}?overwrite=${overwrite}`), { method: 'POST' });
    if (res.status === 409) throw new UserdataExistsError(dest);
    if (!res.ok) throw new Error(`renaming ${file} failed: ${res.status} ${await res.text().catch(() => '')}`);
  }

  // ---- settings (ComfyUI's /settings: one JSON object per user) ----

  async getSettings(): Promise<Record<string, unknown>> {
    return (await this.#json('/settings')) as Record<string, unknown>;
  }

  async setSetting(id: string, value: unknown): Promise<void> {
    await this.#post(`/settings/${encodeURIComponent(id)}`, value);
  }

  /** The URL of a stored image; `preview` asks the server for a small webp. */
  viewUrl(ref: ImageRef, preview = false): string {
    const q = new URLSearchParams({ filename: ref.filename, type: ref.type || 'output', subfolder: ref.subfolder ?? '' });
    if (preview) q.set('preview', 'webp;90');
    return this.url(`/view?${q.toString()}`);
  }

  /** The model folder names (ComfyUI's `/models`). */
  async modelFolders(): Promise<string[]> {
    return (await this.#json('/models')) as string[];
  }

  /** The files of one model folder, paths relative to it with `/` (ComfyUI's `/models/{folder}`). */
  async models(folder: string): Promise<string[]> {
    return (await this.#json(`/models/${encodeURIComponent(folder)}`)) as string[];
  }

  async #json(path: string): Promise<unknown> {
    const res = await this.#fetch(this.url(path));
    if (!res.ok) throw new Error(`GET ${path} failed: ${res.status} ${res.statusText}`);
    return res.json();
  }

  async #post(path: string, body: unknown): Promise<void> {
    const res = await this.#fetch(this.url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST ${path} failed: ${res.status} ${res.statusText}`);
  }
}
