/**
 * Decodes ComfyUI's binary WebSocket frames: a big-endian u32 event type, then a payload.
 * Type 1 is a preview image (u32 format, then the bytes); type 4 is a preview with JSON metadata.
 */

export interface PreviewFrame {
  kind: 'preview';
  mime: 'image/jpeg' | 'image/png' | 'image/webp';
  bytes: Uint8Array;
  /** Present for type 4 frames: which node and prompt the preview belongs to. */
  nodeId?: string;
  displayNodeId?: string;
  promptId?: string;
}
export interface UnknownFrame { kind: 'unknown'; eventType: number }
export type BinaryFrame = PreviewFrame | UnknownFrame;

/** Parses one binary frame; a frame too short for its header throws, naming what was missing. */
export function parseBinaryFrame(buffer: ArrayBuffer | Uint8Array): BinaryFrame {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new Error(`binary frame of ${bytes.byteLength} bytes has no event type`);
  const eventType = view.getUint32(0);
  if (eventType === 1) {
    if (bytes.byteLength < 8) throw new Error('preview frame (type 1) has no image format');
    const format = view.getUint32(4);
    return { kind: 'preview', mime: format === 2 ? 'image/png' : 'image/jpeg', bytes: bytes.subarray(8) };
  }
  if (eventType === 4) {
    if (bytes.byteLength < 8) throw new Error('preview frame (type 4) has no metadata length');
    const length = view.getUint32(4);
    if (bytes.byteLength < 8 + length) throw new Error(`preview frame (type 4) metadata needs ${length} bytes`);
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, unknown>;
    const imageType = String(meta.image_type ?? 'image/jpeg');
    const mime = imageType.includes('png') ? 'image/png' : imageType.includes('webp') ? 'image/webp' : 'image/jpeg';
    const frame: PreviewFrame = { kind: 'preview', mime, bytes: bytes.subarray(8 + length) };
    if (meta.node_id != null) frame.nodeId = String(meta.node_id);
    if (meta.display_node_id != null) frame.displayNodeId = String(meta.display_node_id);
    if (meta.prompt_id != null) frame.promptId = String(meta.prompt_id);
    return frame;
  }
  return { kind: 'unknown', eventType };
}

/** Builds a frame in the same layout; the server side and tests use it. */
export function encodePreviewFrame(image: Uint8Array, mime: PreviewFrame['mime'], meta?: Record<string, string>): Uint8Array {
  if (!meta) {
    const out = new Uint8Array(8 + image.byteLength);
    const view = new DataView(out.buffer);
    view.setUint32(0, 1);
    view.setUint32(4, mime === 'image/png' ? 2 : 1);
    out.set(image, 8);
    return out;
  }
  const json = new TextEncoder().encode(JSON.stringify({ ...meta, image_type: mime }));
  const out = new Uint8Array(8 + json.byteLength + image.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, 4);
  view.setUint32(4, json.byteLength);
  out.set(json, 8);
  out.set(image, 8 + json.byteLength);
  return out;
}
