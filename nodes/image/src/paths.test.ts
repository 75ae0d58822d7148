import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { UnsafePathError, getSaveImagePath, listImageFiles, parseAnnotatedName, resolveAnnotatedPath, resolveInside } from './paths.ts';
import { makeTempEnv } from './test-context.ts';

let env: ReturnType<typeof makeTempEnv>;
beforeEach(() => {
  env = makeTempEnv();
});
afterEach(() => env.cleanup());

const touch = (file: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
};

describe('resolveInside', () => {
  it('resolves names and subfolders inside the folder', () => {
    expect(resolveInside(env.inputDir, 'a.png')).toBe(path.join(env.inputDir, 'a.png'));
    expect(resolveInside(env.inputDir, 'pasted/a.png')).toBe(path.join(env.inputDir, 'pasted', 'a.png'));
    expect(resolveInside(env.inputDir, 'x/../a.png')).toBe(path.join(env.inputDir, 'a.png'));
  });

  it('refuses .., absolute paths and NUL bytes', () => {
    expect(() => resolveInside(env.inputDir, '../output/a.png')).toThrow(UnsafePathError);
    expect(() => resolveInside(env.inputDir, 'a/../../b.png')).toThrow(UnsafePathError);
    expect(() => resolveInside(env.inputDir, '/etc/passwd')).toThrow(/absolute/);
    expect(() => resolveInside(env.inputDir, 'C:\\Windows\\x.png')).toThrow(/absolute/);
    expect(() => resolveInside(env.inputDir, 'a\0.png')).toThrow(/NUL/);
  });

  it('refuses symlinks that lead outside, for files and folders, and allows ones that stay inside', () => {
    touch(path.join(env.root, 'secret.png'));
    fs.symlinkSync(path.join(env.root, 'secret.png'), path.join(env.inputDir, 'link.png'));
    fs.symlinkSync(env.root, path.join(env.inputDir, 'up'));
    expect(() => resolveInside(env.inputDir, 'link.png')).toThrow(/symlink/);
    expect(() => resolveInside(env.inputDir, 'up/secret.png')).toThrow(/symlink/);
    expect(() => resolveInside(env.inputDir, 'up/not-there/x.png')).toThrow(/symlink/);
    touch(path.join(env.inputDir, 'real.png'));
    fs.symlinkSync(path.join(env.inputDir, 'real.png'), path.join(env.inputDir, 'alias.png'));
    expect(resolveInside(env.inputDir, 'alias.png')).toBe(path.join(env.inputDir, 'alias.png'));
  });
});

describe('annotated names', () => {
  it('parses [input], [output], [temp]', () => {
    expect(parseAnnotatedName('a b.png [output]')).toEqual({ name: 'a b.png', type: 'output' });
    expect(parseAnnotatedName('a.png [temp]')).toEqual({ name: 'a.png', type: 'temp' });
    expect(parseAnnotatedName('a.png')).toEqual({ name: 'a.png', type: 'input' });
    expect(parseAnnotatedName('a.png [other]')).toEqual({ name: 'a.png [other]', type: 'input' });
  });

  it('resolves into the annotated folder and still refuses escapes', () => {
    expect(resolveAnnotatedPath('x.png [output]', env)).toBe(path.join(env.outputDir, 'x.png'));
    expect(() => resolveAnnotatedPath('../input/x.png [output]', env)).toThrow(UnsafePathError);
    expect(() => resolveAnnotatedPath('', env)).toThrow(UnsafePathError);
  });
});

describe('listImageFiles', () => {
  it('lists top-level images sorted first, then images in subfolders, skipping other files and hidden ones', () => {
    for (const f of ['b.png', 'A.jpg', 'a.webp', 'notes.txt', '.hidden.png', 'pasted/z.png', 'clipspace/c.PNG', 'sub/deep/d.gif']) {
      touch(path.join(env.inputDir, f));
    }
    expect(listImageFiles(env.inputDir)).toEqual(['A.jpg', 'a.webp', 'b.png', 'clipspace/c.PNG', 'pasted/z.png', 'sub/deep/d.gif']);
  });

  it('gives an empty list for a missing folder and skips symlinks', () => {
    expect(listImageFiles(path.join(env.root, 'nope'))).toEqual([]);
    touch(path.join(env.root, 'outside.png'));
    fs.symlinkSync(path.join(env.root, 'outside.png'), path.join(env.inputDir, 'link.png'));
    expect(listImageFiles(env.inputDir)).toEqual([]);
  });
});

describe('getSaveImagePath', () => {
  it('starts at 1 and continues after the highest existing counter for the prefix', () => {
    expect(getSaveImagePath('ComfyUI', env.outputDir, 8, 8).counter).toBe(1);
    for (const f of ['ComfyUI_00003_.png', 'ComfyUI_00012_.png', 'comfyui_00004_.png', 'ComfyUIx_00099_.png', 'Other_00050_.png']) {
      touch(path.join(env.outputDir, f));
    }
    const target = getSaveImagePath('ComfyUI', env.outputDir, 8, 8);
    expect(target).toEqual({ folder: env.outputDir, filename: 'ComfyUI', counter: 13, subfolder: '' });
  });

  it('creates a subfolder from the prefix and reports it with / separators', () => {
    const target = getSaveImagePath('uso/run1/img', env.outputDir, 8, 8);
    expect(target.subfolder).toBe('uso/run1');
    expect(target.filename).toBe('img');
    expect(fs.statSync(path.join(env.outputDir, 'uso', 'run1')).isDirectory()).toBe(true);
  });

  it('refuses prefixes that leave the output folder', () => {
    expect(() => getSaveImagePath('../escape', env.outputDir, 8, 8)).toThrow(/outside the output folder/);
    expect(() => getSaveImagePath('a/../../escape', env.outputDir, 8, 8)).toThrow(UnsafePathError);
    expect(() => getSaveImagePath('/tmp/abs', env.outputDir, 8, 8)).toThrow(UnsafePathError);
    fs.symlinkSync(env.root, path.join(env.outputDir, 'up'));
    expect(() => getSaveImagePath('up/x', env.outputDir, 8, 8)).toThrow(UnsafePathError);
    expect(getSaveImagePath('sub/', env.outputDir, 8, 8)).toMatchObject({ subfolder: '', filename: 'sub' }); // normpath drops the '/'
    expect(() => getSaveImagePath('', env.outputDir, 8, 8)).toThrow(/no file name/);
  });

  it('expands size and date variables', () => {
    const now = new Date(2025, 0, 2, 3, 4, 5);
    expect(getSaveImagePath('%width%x%height%_%year%-%month%-%day%', env.outputDir, 640, 480, now).filename).toBe('640x480_2025-01-02');
    expect(getSaveImagePath('%date:yyyy-MM-dd%/%date:hhmmss%', env.outputDir, 1, 1, now)).toMatchObject({
      subfolder: '2025-01-02',
      filename: '030405',
    });
  });
});
