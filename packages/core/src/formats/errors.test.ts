import { describe, it, expect } from 'vitest';
import { MissingNodeTypesError, WorkflowFormatError } from './errors.ts';
import { EngineError, toErrorPayload } from '../errors.ts';

describe('format errors', () => {
  it('WorkflowFormatError prefixes the JSON path and is an EngineError', () => {
    const error = new WorkflowFormatError('must be an array', 'nodes[2].inputs');
    expect(error).toBeInstanceOf(EngineError);
    expect(error.message).toBe('nodes[2].inputs: must be an array');
    expect(error.path).toBe('nodes[2].inputs');
    expect(toErrorPayload(error).type).toBe('WorkflowFormatError');
  });

  it('MissingNodeTypesError sorts and de-duplicates the types', () => {
    const error = new MissingNodeTypesError(['b', 'a', 'b']);
    expect(error.types).toEqual(['a', 'b']);
    expect(error.message).toBe('Workflow uses 2 missing node types: a, b');
    expect(new MissingNodeTypesError(['x']).message).toBe('Workflow uses 1 missing node type: x');
  });
});
