/**
 * How a finished prompt ended, from its /history status. ComfyUI records an interrupted run with `status_str: "error"`
 * and an `execution_interrupted` message; the History panel shows that as interrupted, not as a failure.
 */
import type { HistoryEntry } from './api-client.ts';

export type HistoryOutcome = 'success' | 'error' | 'interrupted' | 'unknown';

export function historyOutcome(entry: Pick<HistoryEntry, 'status'>): HistoryOutcome {
  const status = entry.status;
  if (!status) return 'unknown';
  if (status.messages?.some(([type]) => type === 'execution_interrupted')) return 'interrupted';
  if (status.status_str === 'success') return 'success';
  if (status.status_str === 'error') return 'error';
  return 'unknown';
}
