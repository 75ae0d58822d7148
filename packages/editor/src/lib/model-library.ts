/**
 * The model library sidebar's data: each model folder's files, filtered by a search over file names (every word must
 * appear, case-insensitively, in the path relative to the folder).
 */

export interface ModelFolder { folder: string; files: string[] }

/** The folders with the files whose relative path matches every word of `query`; folders left empty are dropped. */
export function filterModels(folders: readonly ModelFolder[], query: string): ModelFolder[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return folders.filter((f) => f.files.length);
  return folders
    .map((f) => ({ folder: f.folder, files: f.files.filter((file) => words.every((w) => file.toLowerCase().includes(w))) }))
    .filter((f) => f.files.length);
}

/** A file's name without its folder path and weights extension, for display. */
export function modelDisplayName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1).replace(/\.(safetensors|sft|ckpt|pt|pth|bin|gguf)$/i, '');
}
