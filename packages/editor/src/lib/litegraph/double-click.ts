/**
 * litegraph's pointer counts a second press as a double-click only when its `timeStamp` is strictly later than the
 * first press's. Chromium rounds event timestamps to 0.1 ms, so two presses delivered back to back (a fast pen,
 * assistive software, browser automation) can carry the same timestamp, and litegraph then sees two single clicks:
 * the search box, title editing and subgraph entry silently do not open. This teaches a canvas pointer that a tie
 * is a double-click; a different event with an equal clock reading is never the same press.
 */
import type { CanvasPointer, CanvasPointerEvent } from '@comfyorg/litegraph';

/** Makes `pointer` treat a press whose timestamp ties the previous press's as coming after it. */
export function acceptTimestampTies(pointer: CanvasPointer): void {
  const down = pointer.down.bind(pointer);
  pointer.down = (e: CanvasPointerEvent) => {
    down(e);
    const last = pointer.eLastDown;
    if (!last || last === e || last.timeStamp < e.timeStamp) return;
    // litegraph reads only the position and the time of the earlier press; keep its position, move its time back
    // by less than the clock's resolution so the gap is positive and far below the double-click time.
    pointer.eLastDown = { clientX: last.clientX, clientY: last.clientY, timeStamp: e.timeStamp - 0.01 } as CanvasPointerEvent;
  };
}
