/** Planning: which nodes run and in what order. Knows nothing about cache keys or how results are kept. */
export { ExecutionList, type LazyInputsOf } from './execution-list.ts';
export { resolveTargets, collectAncestors } from './targets.ts';
