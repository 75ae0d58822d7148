/**
 * The ComfyUI metadata in a PNG: the UI workflow (`workflow` chunk) and the API prompt (`prompt` chunk).
 */

import { readPngTextChunks } from './png-text.ts';

/** The parsed metadata; a field is undefined when its chunk is absent or is not JSON. */
export interface PngWorkflow {
  workflow?: unknown;
  prompt?: unknown;
}

/**
 * Reads and parses the `workflow` and `prompt` chunks. Callers load `workflow` when present and fall back to `prompt`,
 * as ComfyUI's frontend does. Invalid JSON gives undefined rather than an error; Python's bare NaN/Infinity (which
 * `json.dumps` writes for float widgets) are read as null.
 * @throws PngFormatError when `bytes` is not a PNG.
 */
export async function readPngWorkflow(bytes: Uint8Array): Promise<PngWorkflow> {
  const text = await readPngTextChunks(bytes);
  const result: PngWorkflow = {};
  const workflow = parsePythonJson(text['workflow']);
  if (workflow !== undefined) result.workflow = workflow;
  const prompt = parsePythonJson(text['prompt']);
  if (prompt !== undefined) result.prompt = prompt;
  return result;
}

/**
 * JSON.parse that also accepts Python's NaN, Infinity and -Infinity tokens (as null) and returns undefined instead of
 * throwing.
 */
export function parsePythonJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(replacePythonNumberTokens(text));
    } catch {
      return undefined;
    }
  }
}

/** Replaces NaN / Infinity / -Infinity outside string literals by null. */
function replacePythonNumberTokens(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      // Copy the whole string literal, escapes included.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const rest = text.startsWith('-Infinity', i) ? '-Infinity' : text.startsWith('Infinity', i) ? 'Infinity' : text.startsWith('NaN', i) ? 'NaN' : '';
    if (rest) {
      out += 'null';
      i += rest.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}
