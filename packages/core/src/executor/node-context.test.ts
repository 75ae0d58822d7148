import { describe, expect, it } from 'vitest';
import type { NodeLogger, PreviewImage } from '../node-api.ts';
import { NodeContext, type ContextHost } from './node-context.ts';

function fakeHost() {
  const calls: unknown[][] = [];
  const lines: string[] = [];
  const logger: NodeLogger = {
    debug: (m) => void lines.push(`debug ${m}`),
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
  const host: ContextHost = {
    promptId: 'p',
    prompt: { '3': { class_type: 'X', inputs: {} } },
    extraData: { a: 1 },
    env: { inputDir: 'i', outputDir: 'o', tempDir: 't', modelsDir: 'm' },
    signal: new AbortController().signal,
    logger,
    displayNodeOf: (id) => `shown-${id}`,
    reportProgress: (...args) => void calls.push(['progress', ...args]),
    reportPreview: (...args) => void calls.push(['preview', ...args]),
    previewWanted: (id) => id === '3',
  };
  return { host, calls, lines };
}

describe('NodeContext', () => {
  it('exposes the run through getters and the display id from the host', () => {
    const { host } = fakeHost();
    const context = new NodeContext(host, '3', 'X');
    expect(context.nodeId).toBe('3');
    expect(context.displayNodeId).toBe('shown-3');
    expect(context.promptId).toBe('p');
    expect(context.prompt).toBe(host.prompt);
    expect(context.extraData).toEqual({ a: 1 });
    expect(context.env).toBe(host.env);
    expect(context.signal).toBe(host.signal);
  });

  it('forwards progress and previews with its node id', () => {
    const { host, calls } = fakeHost();
    const context = new NodeContext(host, '3', 'X');
    const image: PreviewImage = { format: 'JPEG', bytes: new Uint8Array([1]) };
    context.progress(2, 5);
    context.preview(image);
    expect(calls).toEqual([
      ['progress', '3', 2, 5],
      ['preview', '3', image],
    ]);
    expect(context.previewWanted()).toBe(true);
    expect(new NodeContext(host, '4', 'X').previewWanted()).toBe(false);
  });

  it('prefixes log lines with the class and node id', () => {
    const { host, lines } = fakeHost();
    const context = new NodeContext(host, '3', 'KSampler');
    context.log.warn('slow');
    context.log.info('done');
    expect(lines).toEqual(['warn [KSampler #3] slow', 'info [KSampler #3] done']);
  });
});
