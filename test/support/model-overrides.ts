/**
 * `--set` overrides by class type for the classes a workflow really runs (an override that matches no node is an
 * error), so one table of model names and CI sizes serves every workflow: the demo set, the tiny real-architecture set.
 */
import { uiToApi, type ObjectInfoEntry } from '../../packages/core/src/index.ts';

export type OverrideTable = Readonly<Record<string, readonly string[]>>;

/** Overrides `<Class>.<input>=<value>` from `table` for the classes present in the workflow's API prompt. */
export function classOverrides(workflow: unknown, objectInfo: Record<string, ObjectInfoEntry>, table: OverrideTable): string[] {
  const { prompt } = uiToApi(workflow, objectInfo, { random: () => 0 });
  const classes = new Set(Object.values(prompt).map((n) => n.class_type));
  return Object.entries(table).flatMap(([cls, sets]) => (classes.has(cls) ? sets.map((s) => `${cls}.${s}`) : []));
}

/** CI sizes: 128x128 pictures, 3 steps. */
export const SMALL_RUN: OverrideTable = {
  EmptyLatentImage: ['width=128', 'height=128'],
  EmptySD3LatentImage: ['width=128', 'height=128'],
  ImageScaleToMaxDimension: ['largest_size=128'],
  KSampler: ['steps=3'],
};
