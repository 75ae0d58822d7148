/** Execution: runs a validated prompt with planning and caching, and reports ComfyUI's events. */
export { Executor, type ExecutorOptions, type RunOptions, type RunOutcome } from './executor.ts';
export { inputsForRuns, mergeResults, runCount, sliceInputs, type ListInputs } from './list-mapping.ts';
export { describeValue } from './describe-value.ts';
