/**
 * The test nodes' awaiting sleep: it ends early, without throwing, when the prompt is interrupted, so the node's own
 * interrupt check decides what happens next (as a real node's next step would).
 */
export const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
