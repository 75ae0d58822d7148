/**
 * How the runner reports events: progress bars per node on a TTY, one JSON object per line with --json, and short
 * lines otherwise (a pipe or a log file).
 */
import type { ExecutionEvent } from '@uso-studio/core';

export type PrintMode = 'tty' | 'json' | 'plain';

export interface EventPrinter {
  onEvent(event: ExecutionEvent): void;
  finish(): void;
}

const BAR_WIDTH = 28;

export function createEventPrinter(mode: PrintMode, write: (text: string) => void, classOf: (nodeId: string) => string): EventPrinter {
  if (mode === 'json') {
    return {
      onEvent(event) {
        if (event.type === 'preview') return; // binary previews are for the editor, not a log
        write(JSON.stringify(event) + '\n');
      },
      finish() {},
    };
  }
  let barOpen = false;
  const endBar = () => {
    if (barOpen) write('\n');
    barOpen = false;
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'execution_cached':
          if (event.data.nodes.length) write(`cached: ${event.data.nodes.length} node(s) reused\n`);
          break;
        case 'executing':
          endBar();
          if (event.data.node !== null) write(`▶ ${event.data.node} ${classOf(event.data.node)}\n`);
          break;
        case 'progress': {
          const { value, max, node } = event.data;
          if (mode === 'tty') {
            const filled = max > 0 ? Math.round((value / max) * BAR_WIDTH) : 0;
            write(`\r  ${node} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${value}/${max}`);
            barOpen = true;
          } else if (value === max) {
            write(`  ${node}: ${value}/${max}\n`);
          }
          break;
        }
        case 'executed':
          endBar();
          break;
        case 'execution_error':
          endBar();
          break;
        default:
          break;
      }
    },
    finish: endBar,
  };
}
