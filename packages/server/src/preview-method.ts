/**
 * ComfyUI's preview methods. The server's `--preview-method` is the default (ComfyUI's is `none`: no step previews);
 * a prompt may ask for its own in `extra_data.preview_method`, which ComfyUI's front end sends from its
 * `Comfy.Execution.PreviewMethod` setting (`default` meaning the server's). There is no TAESD here, so `taesd`
 * previews with latent2rgb, as ComfyUI's `auto` does when it finds no TAESD decoder.
 */

export const PREVIEW_METHODS = ['auto', 'latent2rgb', 'taesd', 'none'] as const;
export type PreviewMethod = (typeof PREVIEW_METHODS)[number];

export function isPreviewMethod(value: unknown): value is PreviewMethod {
  return typeof value === 'string' && (PREVIEW_METHODS as readonly string[]).includes(value);
}

/** Whether a prompt's nodes should make step previews. */
export function previewsWanted(extraData: Record<string, unknown>, serverDefault: PreviewMethod): boolean {
  const asked = extraData.preview_method;
  const method = isPreviewMethod(asked) ? asked : serverDefault;
  return method !== 'none';
}
