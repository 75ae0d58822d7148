/**
 * What an image node's menu does with its picture, as in ComfyUI: Open Image (a new tab), Save Image (a download
 * under the stored file name) and Copy Image (the clipboard, as PNG, since browsers only accept PNG there).
 */

/** The stored file name an image URL names (`/view?filename=...`), else the last path part. */
export function imageFileName(url: string): string {
  const parsed = new URL(url, 'http://localhost/');
  return parsed.searchParams.get('filename') || parsed.pathname.split('/').pop() || 'image.png';
}

/** The full picture behind a node's image URL: the same URL without the small-preview request. */
export function fullImageUrl(url: string): string {
  const parsed = new URL(url, window.location.href);
  parsed.searchParams.delete('preview');
  return parsed.toString();
}

export function openImage(url: string): void {
  window.open(fullImageUrl(url), '_blank', 'noopener');
}

export async function saveImage(url: string): Promise<void> {
  const res = await fetch(fullImageUrl(url));
  if (!res.ok) throw new Error(`could not fetch the image (${res.status})`);
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = imageFileName(url);
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the blob once the click's download started; revoking at once can cancel it in Chromium.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export async function copyImage(url: string): Promise<void> {
  const res = await fetch(fullImageUrl(url));
  if (!res.ok) throw new Error(`could not fetch the image (${res.status})`);
  let blob = await res.blob();
  if (blob.type !== 'image/png') blob = await toPng(blob);
  await navigator.clipboard.write([new ClipboardItem({ 'image/png': blob })]);
}

async function toPng(blob: Blob): Promise<Blob> {
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
  bitmap.close();
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}
