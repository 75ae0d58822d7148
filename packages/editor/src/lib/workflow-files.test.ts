import { describe, expect, it } from 'vitest';
import { pngWithText } from './test-support.ts';
import { classify, dropKindOf, fileNameFor, imageFormatOf, NotAWorkflowError, readWorkflowFile } from './workflow-files.ts';

const ui = { last_node_id: 1, last_link_id: 0, nodes: [{ id: 1, type: 'SaveImage' }], links: [], version: 0.4 };
const api = { '1': { class_type: 'SaveImage', inputs: { filename_prefix: 'x' } } };

const file = (bytes: Uint8Array | string, name: string) => new File([bytes as BlobPart], name);

describe('readWorkflowFile', () => {
  it('reads a ComfyUI workflow JSON and an API prompt JSON', async () => {
    await expect(readWorkflowFile(file(JSON.stringify(ui), 'my flow.json'))).resolves.toEqual({ kind: 'ui', workflow: ui, name: 'my flow' });
    await expect(readWorkflowFile(file(JSON.stringify(api), 'p.json'))).resolves.toEqual({ kind: 'api', prompt: api, name: 'p' });
  });

  it('prefers a PNG\'s workflow chunk and falls back to its prompt', async () => {
    const both = await pngWithText({ prompt: JSON.stringify(api), workflow: JSON.stringify(ui) });
    await expect(readWorkflowFile(file(both, 'out.png'))).resolves.toMatchObject({ kind: 'ui', workflow: ui, name: 'out' });
    const promptOnly = await pngWithText({ prompt: JSON.stringify(api) });
    await expect(readWorkflowFile(file(promptOnly, 'out.png'))).resolves.toMatchObject({ kind: 'api', prompt: api });
  });

  it('says why a file holds no workflow', async () => {
    await expect(readWorkflowFile(file(await pngWithText({ parameters: 'a1111' }), 'x.png'))).rejects.toThrow(NotAWorkflowError);
    await expect(readWorkflowFile(file('{"hello": 1}', 'x.json'))).rejects.toThrow(/not a ComfyUI workflow/);
    await expect(readWorkflowFile(file('not json', 'x.txt'))).rejects.toThrow(/neither JSON nor a PNG/);
  });
});

describe('dropped files', () => {
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0]);
  const webp = new Uint8Array([...new TextEncoder().encode('RIFF'), 30, 0, 0, 0, ...new TextEncoder().encode('WEBPVP8 ')]);

  it('tells PNG, JPEG and WebP apart by their first bytes', async () => {
    expect(imageFormatOf(await pngWithText({}))).toBe('png');
    expect(imageFormatOf(jpeg)).toBe('jpeg');
    expect(imageFormatOf(webp)).toBe('webp');
    expect(imageFormatOf(new TextEncoder().encode('{"nodes": []}'))).toBeNull();
  });

  it('restores a PNG with a workflow or prompt chunk and uploads other images', async () => {
    await expect(dropKindOf(file(await pngWithText({ workflow: JSON.stringify(ui) }), 'a.png'))).resolves.toBe('workflow');
    await expect(dropKindOf(file(await pngWithText({ prompt: JSON.stringify(api) }), 'a.png'))).resolves.toBe('workflow');
    await expect(dropKindOf(file(await pngWithText({}), 'plain.png'))).resolves.toBe('image');
    await expect(dropKindOf(file(await pngWithText({ parameters: 'a1111 text' }), 'other-tool.png'))).resolves.toBe('image');
    await expect(dropKindOf(file(jpeg, 'photo.jpg'))).resolves.toBe('image');
    await expect(dropKindOf(file(webp, 'photo.webp'))).resolves.toBe('image');
    await expect(dropKindOf(file(JSON.stringify(ui), 'flow.json'))).resolves.toBe('workflow');
  });
});

describe('classify and names', () => {
  it('classifies parsed JSON', () => {
    expect(classify(ui)?.kind).toBe('ui');
    expect(classify(api)?.kind).toBe('api');
    expect(classify([1, 2])).toBeNull();
  });

  it('makes safe download names', () => {
    expect(fileNameFor('USO style')).toBe('USO style.json');
    expect(fileNameFor('a/b:c', true)).toBe('a_b_c_api.json');
    expect(fileNameFor('  ')).toBe('workflow.json');
  });
});
