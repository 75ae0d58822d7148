import { describe, it, expect } from 'vitest';
import { WorkflowFormatError } from './errors.ts';
import { detectWorkflowKind, isParsedWorkflow, parseWorkflow, serializeWorkflow, toWorkflow, type UiWorkflowV1 } from './workflow.ts';

/** A small 0.4 workflow with the fields ComfyUI saves, plus fields this module does not know. */
function v04() {
  return {
    id: '6a1a4b1e-0000-4000-8000-000000000001',
    revision: 3,
    last_node_id: 2,
    last_link_id: 1,
    nodes: [
      {
        id: 1,
        type: 'CheckpointLoaderSimple',
        pos: [10, 20],
        size: [315, 98],
        flags: {},
        order: 0,
        mode: 0,
        inputs: [],
        outputs: [{ name: 'MODEL', type: 'MODEL', links: [1], slot_index: 0 }],
        properties: { 'Node name for S&R': 'CheckpointLoaderSimple', cnr_id: 'comfy-core' },
        widgets_values: ['model.safetensors'],
        color: '#223',
      },
      {
        id: 2,
        type: 'KSampler',
        pos: { 0: 400, 1: 20 },
        size: [315, 262],
        flags: { collapsed: true },
        order: 1,
        mode: 4,
        title: 'Sampler',
        inputs: [{ name: 'model', type: 'MODEL', link: 1, localized_name: 'model' }],
        outputs: [{ name: 'LATENT', type: 'LATENT', links: null }],
        properties: {},
        widgets_values: [5, 'fixed', 20, 8, 'euler', 'normal', 1],
        someExtensionField: { keep: true },
      },
    ],
    links: [[1, 1, 0, 2, 0, 'MODEL']],
    groups: [{ id: 1, title: 'Models', bounding: [0, 0, 400, 300], color: '#3f789e', font_size: 24, flags: {} }],
    definitions: { subgraphs: [] },
    config: { links_ontop: false },
    extra: { ds: { scale: 1, offset: [0, 0] }, frontendVersion: '1.25.11', groupNodes: {} },
    version: 0.4,
    workflowOwnField: [1, 2, 3],
  };
}

describe('detectWorkflowKind', () => {
  it('tells UI workflows, API prompts and other values apart', () => {
    expect(detectWorkflowKind(v04())).toBe('ui');
    expect(detectWorkflowKind({ version: 1, state: {}, nodes: [] })).toBe('ui');
    expect(detectWorkflowKind({ '3': { class_type: 'KSampler', inputs: { seed: 1 } } })).toBe('api');
    expect(detectWorkflowKind({ '3': { class_type: 'KSampler' } })).toBe('unknown');
    expect(detectWorkflowKind({})).toBe('unknown');
    expect(detectWorkflowKind([])).toBe('unknown');
    expect(detectWorkflowKind('x')).toBe('unknown');
    expect(detectWorkflowKind(null)).toBe('unknown');
  });
});

describe('parseWorkflow (0.4)', () => {
  it('reads links as objects and the counters into state', () => {
    const workflow = parseWorkflow(v04());
    expect(workflow.sourceVersion).toBe(0.4);
    expect(workflow.state).toEqual({ lastNodeId: 2, lastLinkId: 1 });
    expect(workflow.links).toEqual([{ id: 1, origin_id: 1, origin_slot: 0, target_id: 2, target_slot: 0, type: 'MODEL' }]);
    expect(workflow.nodes[1]?.someExtensionField).toEqual({ keep: true });
    expect(workflow.subgraphs).toEqual([]);
    expect(workflow.unknownFields).toEqual({ workflowOwnField: [1, 2, 3] });
    expect(isParsedWorkflow(workflow)).toBe(true);
    expect(isParsedWorkflow(v04())).toBe(false);
  });

  it('does not share objects with its input', () => {
    const json = v04();
    const workflow = parseWorkflow(json);
    workflow.nodes[0]!.widgets_values = ['changed'];
    expect(json.nodes[0]!.widgets_values).toEqual(['model.safetensors']);
  });

  it('toWorkflow reads without copying, and passes parsed workflows through', () => {
    const json = v04();
    const shared = toWorkflow(json);
    expect(shared.nodes[0]).toBe(json.nodes[0]);
    expect(toWorkflow(shared)).toBe(shared);
    expect(() => toWorkflow({ nodes: 3 })).toThrow(WorkflowFormatError);
  });

  it('round-trips to the same JSON text, key order included', () => {
    const json = v04();
    expect(JSON.stringify(serializeWorkflow(parseWorkflow(json)))).toBe(JSON.stringify(json));
  });

  it('keeps optional fields absent when the file lacks them', () => {
    const minimal = { last_node_id: 0, last_link_id: 0, nodes: [], links: [], version: 0.4 };
    expect(serializeWorkflow(parseWorkflow(minimal))).toEqual(minimal);
  });

  it('skips null holes that old litegraph versions left in links', () => {
    const json = { ...v04(), links: [null, [1, 1, 0, 2, 0, 'MODEL']] };
    expect(parseWorkflow(json).links.map((l) => l.id)).toEqual([1]);
  });
});

describe('parseWorkflow (1)', () => {
  const v1 = (): UiWorkflowV1 => ({
    id: 'a',
    revision: 0,
    version: 1,
    config: {},
    state: { lastGroupId: 0, lastNodeId: 2, lastLinkId: 1, lastRerouteId: 1 },
    groups: [],
    nodes: [
      { id: 1, type: 'A', mode: 0, outputs: [{ name: 'X', type: 'X', links: [1] }] },
      { id: 2, type: 'B', mode: 0, inputs: [{ name: 'x', type: 'X', link: 1 }] },
    ],
    links: [{ id: 1, origin_id: 1, origin_slot: 0, target_id: 2, target_slot: 0, type: 'X', parentId: 1 }],
    reroutes: [{ id: 1, pos: [5, 5], linkIds: [1] }],
    extra: { ds: { scale: 1, offset: [0, 0] } },
    definitions: { subgraphs: [] },
  });

  it('normalises to the same internal shape', () => {
    const workflow = parseWorkflow(v1());
    expect(workflow.sourceVersion).toBe(1);
    expect(workflow.state.lastNodeId).toBe(2);
    expect(workflow.links[0]).toMatchObject({ id: 1, origin_id: 1, target_id: 2, parentId: 1 });
    expect(workflow.reroutes).toHaveLength(1);
  });

  it('writes 0.4 with reroutes and link parents in extra, as litegraph does', () => {
    const out = serializeWorkflow(parseWorkflow(v1()));
    expect(out.version).toBe(0.4);
    expect(out.last_node_id).toBe(2);
    expect(out.last_link_id).toBe(1);
    expect(out.links).toEqual([[1, 1, 0, 2, 0, 'X']]);
    expect(out.extra).toEqual({ ds: { scale: 1, offset: [0, 0] }, reroutes: [{ id: 1, pos: [5, 5], linkIds: [1] }], linkExtensions: [{ id: 1, parentId: 1 }] });
    expect(out).not.toHaveProperty('state');
    // and the 0.4 output reads back to the same nodes and links
    const again = parseWorkflow(out);
    expect(again.nodes).toEqual(parseWorkflow(v1()).nodes);
    expect(again.links.map((l) => [l.id, l.origin_id, l.target_id])).toEqual([[1, 1, 2]]);
  });

  it('recognises version 1 without a version field by its link objects', () => {
    const { version: _version, ...rest } = v1();
    expect(parseWorkflow(rest).sourceVersion).toBe(1);
  });
});

describe('parseWorkflow errors', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a string', 'hello', /expected a workflow object/],
    ['an API prompt', { '1': { class_type: 'X', inputs: {} } }, /API prompt/],
    ['no nodes', { links: [], version: 0.4 }, /^nodes: expected an array of nodes/],
    ['a bad version', { nodes: [], links: [], version: 2 }, /^version: unsupported workflow version 2/],
    ['a short link', { ...v04(), links: [[1, 2, 3]] }, /^links\[0\]: expected \[id, origin_id/],
    ['a node without type', { ...v04(), nodes: [{ id: 1 }] }, /^nodes\[0\]\.type: expected a string node type/],
    ['a node without id', { ...v04(), nodes: [{ type: 'X' }] }, /^nodes\[0\]\.id: expected a node id/],
    ['a bad input link', { ...v04(), nodes: [{ id: 1, type: 'X', inputs: [{ name: 'a', type: 'A', link: 'x' }] }] }, /^nodes\[0\]\.inputs\[0\]\.link/],
    ['bad widgets_values', { ...v04(), nodes: [{ id: 1, type: 'X', widgets_values: 3 }] }, /^nodes\[0\]\.widgets_values/],
    ['a bad subgraph', { ...v04(), definitions: { subgraphs: [{ name: 'x', nodes: [] }] } }, /^definitions\.subgraphs\[0\]\.id/],
    ['a bad subgraph link', { ...v04(), definitions: { subgraphs: [{ id: 's', nodes: [], links: [{ id: 1 }] }] } }, /^definitions\.subgraphs\[0\]\.links\[0\]\.origin_id/],
    ['v1 without state', { version: 1, nodes: [] }, /^state: expected the graph state object/],
  ];
  it.each(cases)('rejects %s with a WorkflowFormatError', (_label, json, message) => {
    let caught: unknown;
    try {
      parseWorkflow(json);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WorkflowFormatError);
    expect((caught as Error).message).toMatch(message);
  });

  it('turns non-JSON data into a WorkflowFormatError too', () => {
    const json = { ...v04(), extra: { callback: () => 1 } };
    expect(() => parseWorkflow(json)).toThrow(WorkflowFormatError);
    const hostile = Object.defineProperty({ ...v04() }, 'nodes', {
      enumerable: true,
      get() {
        throw new TypeError('no');
      },
    });
    expect(() => parseWorkflow(hostile)).toThrow(WorkflowFormatError);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(() => parseWorkflow(revoked.proxy)).toThrow(WorkflowFormatError);
  });
});
