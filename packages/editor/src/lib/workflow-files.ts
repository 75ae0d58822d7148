/**
 * Workflow files in and out of the browser: reading an opened or dropped file (ComfyUI JSON, API JSON, or a PNG with
 * its metadata) and downloading JSON.
 */
import { detectWorkflowKind, readPngWorkflow } from './formats.ts';

/** What a file held: a UI workflow, or an API prompt (the caller converts it with core's `apiToUi`). */
export type OpenedWorkflow =
  | { kind: 'ui'; workflow: Record<string, unknown>; name: string }
  | { kind: 'api'; prompt: Record<string, unknown>; name: string };

/** A file held no workflow; the message says why. */
export class NotAWorkflowError extends Error {
  override readonly name = 'NotAWorkflowError';
}

/** Reads a workflow from a dropped or opened file. PNGs give their `workflow` chunk first, then `prompt`. */
export async function readWorkflowFile(file: Blob & { name?: string }): Promise<OpenedWorkflow> {
  const name = (file.name ?? 'workflow').replace(/\.(json|png)$/i, '');
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (isPngBytes(bytes)) {
    const meta = await readPngWorkflow(bytes);
    const fromWorkflow = classify(meta.workflow, name);
    if (fromWorkflow) return fromWorkflow;
    const fromPrompt = classify(meta.prompt, name);
    if (fromPrompt) return fromPrompt;
    throw new NotAWorkflowError(`${file.name ?? 'the image'} has no ComfyUI workflow in its metadata`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new NotAWorkflowError(`${file.name ?? 'the file'} is neither JSON nor a PNG`);
  }
  const opened = classify(json, name);
  if (!opened) throw new NotAWorkflowError(`${file.name ?? 'the file'} is JSON but not a ComfyUI workflow or API prompt`);
  return opened;
}

/** Sorts a parsed JSON value into a UI workflow, an API prompt, or nothing. */
export function classify(json: unknown, name = 'workflow'): OpenedWorkflow | null {
  const kind = detectWorkflowKind(json);
  if (kind === 'ui') return { kind: 'ui', workflow: json as Record<string, unknown>, name };
  if (kind === 'api') return { kind: 'api', prompt: json as Record<string, unknown>, name };
  return null;
}

function isPngBytes(bytes: Uint8Array): boolean {
  return bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

/** The image formats LoadImage takes from a drop: PNG, JPEG and WebP, told apart by their magic bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** The format of an image by its first bytes, or null for anything else. */
export function imageFormatOf(bytes: Uint8Array): ImageFormat | null {
  if (isPngBytes(bytes)) return 'png';
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length > 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

/**
 * What a file dropped on the canvas is for: `workflow` (JSON, or a PNG whose `workflow` or `prompt` text chunk holds
 * a ComfyUI workflow or API prompt, which restores its graph) or `image` (any other PNG, a JPEG or a WebP, which goes
 * to a LoadImage node). The chunks are looked at first, so an output PNG always restores its graph, as in ComfyUI.
 */
export async function dropKindOf(file: Blob): Promise<'workflow' | 'image'> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const format = imageFormatOf(bytes);
  if (format === null) return 'workflow';
  if (format !== 'png') return 'image';
  try {
    const meta = await readPngWorkflow(bytes);
    return classify(meta.workflow) || classify(meta.prompt) ? 'workflow' : 'image';
  } catch {
    // A text chunk that does not inflate holds no readable workflow; the pixels may still be fine.
    return 'image';
  }
}

/** A file name for a download: the workflow's name with `.json` (and `_api` for API exports). */
export function fileNameFor(name: string, api = false): string {
  const base = (name.trim() || 'workflow').replace(/[\\/:*?"<>|]+/g, '_').replace(/\.json$/i, '');
  return `${base}${api ? '_api' : ''}.json`;
}

/**
 * Starts a browser download of `data` as pretty JSON. The object URL stays valid until the next download or until the
 * page is left: revoking it on a timer raced the browser's download on a loaded machine in other browsers, and nothing
 * tells the page when a download has read its blob.
 */
export function downloadJson(fileName: string, data: unknown, doc: Document = document): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = doc.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  doc.body.appendChild(a);
  a.click();
  a.remove();
  keepUntilNext(url, doc);
}

let lastDownloadUrl: string | null = null;

function keepUntilNext(url: string, doc: Document): void {
  if (lastDownloadUrl) URL.revokeObjectURL(lastDownloadUrl);
  else doc.defaultView?.addEventListener('pagehide', () => lastDownloadUrl && URL.revokeObjectURL(lastDownloadUrl));
  lastDownloadUrl = url;
}

/** Opens the browser's file picker for workflow files; resolves with the chosen file, or null. */
export function pickFile(accept = '.json,.png,application/json,image/png', doc: Document = document): Promise<File | null> {
  return new Promise((resolve) => {
    const input = doc.createElement('input');
    input.type = 'file';
    input.accept = accept;
    input.style.display = 'none';
    input.addEventListener('change', () => {
      resolve(input.files?.[0] ?? null);
      input.remove();
    });
    input.addEventListener('cancel', () => {
      resolve(null);
      input.remove();
    });
    doc.body.appendChild(input);
    input.click();
  });
}

/** The parts of Storage the open tabs are kept in (localStorage in the app, a Map in tests). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

