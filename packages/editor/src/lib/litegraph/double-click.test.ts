import { CanvasPointer, type CanvasPointerEvent } from '@comfyorg/litegraph';
import { describe, expect, it } from 'vitest';
import { acceptTimestampTies } from './double-click.ts';

/** A pointer event as litegraph's pointer reads it. */
const press = (timeStamp: number, x = 100, y = 100) =>
  ({ timeStamp, clientX: x, clientY: y, button: 0, buttons: 1, pointerId: 1, isPrimary: true }) as unknown as CanvasPointerEvent;

/** Two clicks at the given press times; returns what the pointer reported for the second. */
function clickTwice(pointer: CanvasPointer, first: number, second: number, secondAt: [number, number] = [100, 100]): 'double' | 'single' {
  let result: 'double' | 'single' = 'single';
  pointer.down(press(first));
  pointer.onClick = () => undefined;
  pointer.up(press(first));
  pointer.down(press(second, ...secondAt));
  pointer.onClick = () => (result = 'single');
  pointer.onDoubleClick = () => (result = 'double');
  pointer.up(press(second, ...secondAt));
  return result;
}

/** A pointer on an element that only answers the pointer-capture calls litegraph makes. */
function newPointer(ties: boolean): CanvasPointer {
  const element = { setPointerCapture() {}, hasPointerCapture: () => false, releasePointerCapture() {} };
  const pointer = new CanvasPointer(element as unknown as Element);
  if (ties) acceptTimestampTies(pointer);
  return pointer;
}

describe('double-clicks whose presses share a timestamp', () => {
  it('are lost by litegraph on its own (the cause of the flaky search test)', () => {
    expect(clickTwice(newPointer(false), 441.5, 441.5)).toBe('single');
  });

  it('count as double-clicks once ties are accepted', () => {
    expect(clickTwice(newPointer(true), 441.5, 441.5)).toBe('double');
  });

  it('leave litegraph\'s other rules alone: slow second press, far second press', () => {
    expect(clickTwice(newPointer(true), 100, 150)).toBe('double');
    expect(clickTwice(newPointer(true), 100, 100 + CanvasPointer.doubleClickTime + 1)).toBe('single');
    expect(clickTwice(newPointer(true), 100, 100, [400, 400])).toBe('single');
  });
});

