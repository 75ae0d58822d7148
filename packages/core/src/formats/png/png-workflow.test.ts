import { describe, it, expect } from 'vitest';
import { parsePythonJson, readPngWorkflow } from './png-workflow.ts';
import { PngFormatError, insertPngTextChunks, makeChunk } from './png-text.ts';
import { bytes, tinyPng } from './test-png.ts';

describe('readPngWorkflow', () => {
  it('parses workflow and prompt', async () => {
    const workflow = { nodes: [{ id: 1, type: 'LoadImage' }], links: [] };
    const prompt = { '1': { class_type: 'LoadImage', inputs: { image: 'a.png' } } };
    const png = insertPngTextChunks(await tinyPng(), { prompt: JSON.stringify(prompt), workflow: JSON.stringify(workflow) });
    expect(await readPngWorkflow(png)).toEqual({ workflow, prompt });
  });

  it('gives undefined for invalid JSON without throwing', async () => {
    const png = insertPngTextChunks(await tinyPng(), { workflow: '{not json', prompt: '{"1":{}}' });
    const result = await readPngWorkflow(png);
    expect(result.workflow).toBeUndefined();
    expect(result.prompt).toEqual({ '1': {} });
  });

  it('reads a compressed iTXt workflow', async () => {
    const { zlibDeflate } = await import('./png-text.ts');
    const data = await zlibDeflate(new TextEncoder().encode('{"nodes":[]}'));
    const png = await tinyPng([makeChunk('iTXt', bytes('workflow', [0, 1, 0, 0, 0], data))]);
    expect(await readPngWorkflow(png)).toEqual({ workflow: { nodes: [] } });
  });

  it('reads Python NaN and Infinity as null', async () => {
    const png = insertPngTextChunks(await tinyPng(), { workflow: '{"w":[NaN, Infinity, -Infinity, "NaN"]}' });
    expect((await readPngWorkflow(png)).workflow).toEqual({ w: [null, null, null, 'NaN'] });
  });

  it('gives an empty result for a PNG without metadata and throws for non-PNG', async () => {
    expect(await readPngWorkflow(await tinyPng())).toEqual({});
    await expect(readPngWorkflow(new TextEncoder().encode('GIF89a....'))).rejects.toThrow(PngFormatError);
  });
});

describe('parsePythonJson', () => {
  it('keeps escaped quotes inside strings intact', () => {
    expect(parsePythonJson('{"a":"say \\"NaN\\"","b":NaN}')).toEqual({ a: 'say "NaN"', b: null });
  });
  it('returns undefined for undefined and garbage', () => {
    expect(parsePythonJson(undefined)).toBeUndefined();
    expect(parsePythonJson('][')).toBeUndefined();
  });
});
