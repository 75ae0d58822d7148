/**
 * The server's view of ComfyUI's model folders: the folder table and search directories come from the comfy pack
 * (nodes/comfy model-paths.ts), so /models, /experiment/models, /internal/folder_paths and the loaders' combos always
 * agree. Only the extensions ComfyUI lists for non-loader folders live here.
 */
import { searchDirs, type ModelRoots } from '@uso-studio/nodes-comfy';

export { COMFY_MODEL_FOLDERS, canonicalFolder } from '@uso-studio/nodes-comfy';

/** ComfyUI's supported_pt_extensions. */
export const PT_EXTENSION_SET: ReadonlySet<string> = new Set(['.ckpt', '.pt', '.pt2', '.bin', '.pth', '.safetensors', '.pkl', '.sft']);

/** Absolute paths searched for a folder, in order. */
export function folderPaths(roots: ModelRoots, folder: string): string[] {
  return searchDirs(roots, folder);
}
