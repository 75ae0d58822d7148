import { describe, expect, it } from 'vitest';
import { filterModels, modelDisplayName } from './model-library.ts';

const folders = [
  { folder: 'checkpoints', files: ['flux/flux1-dev.safetensors'] },
  { folder: 'embeddings', files: [] },
  { folder: 'loras', files: ['uso-style.safetensors', 'styles/ink.safetensors'] },
];

describe('model library', () => {
  it('drops empty folders and keeps files whose path has every word', () => {
    expect(filterModels(folders, '').map((f) => f.folder)).toEqual(['checkpoints', 'loras']);
    expect(filterModels(folders, 'STYLE')).toEqual([{ folder: 'loras', files: ['uso-style.safetensors', 'styles/ink.safetensors'] }]);
    expect(filterModels(folders, 'styles ink')).toEqual([{ folder: 'loras', files: ['styles/ink.safetensors'] }]);
    expect(filterModels(folders, 'flux dev')).toEqual([{ folder: 'checkpoints', files: ['flux/flux1-dev.safetensors'] }]);
    expect(filterModels(folders, 'nothing')).toEqual([]);
  });

  it('shows names without folder path or weights extension', () => {
    expect(modelDisplayName('flux/flux1-dev.safetensors')).toBe('flux1-dev');
    expect(modelDisplayName('model.v2.gguf')).toBe('model.v2');
    expect(modelDisplayName('notes.txt')).toBe('notes.txt');
  });
});
