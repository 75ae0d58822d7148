/**
 * The child process behind an IsolatedSession: one onnxruntime session in a SessionPool of its own, driven by
 * messages from the parent (isolated-session-protocol.ts). Its JavaScript thread blocks for a whole run, so the
 * parent stops a run by killing this process; it exits by itself when the parent goes away.
 */
import { Tensor } from '../tensor/tensor.ts';
import type { FromHost, OpenedSession, ToHost, WireTensor } from './isolated-session-protocol.ts';
import { SessionPool, type PooledSession } from './session-pool.ts';

const send = (message: FromHost): void => {
  process.send?.(message);
};
const pool = new SessionPool({ log: (line) => send({ type: 'log', line }) });
let session: PooledSession | undefined;

async function handle(message: ToHost): Promise<unknown> {
  switch (message.type) {
    case 'open': {
      session = await pool.acquire(message.model, message.options);
      const use = pool.providersInUse()[0];
      const opened: OpenedSession = {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        provider: session.provider,
        ...(use?.fallbackReason !== undefined ? { fallbackReason: use.fallbackReason } : {}),
      };
      return opened;
    }
    case 'run': {
      if (!session) throw new Error('isolated session: run before open');
      const feeds: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(message.feeds)) feeds[name] = new Tensor(t.dtype, t.shape, t.data);
      const out = await pool.run(session, feeds, message.outputs);
      const wire: Record<string, WireTensor> = {};
      for (const [name, t] of Object.entries(out)) wire[name] = { dtype: t.dtype, shape: t.shape, data: t.data };
      return wire;
    }
    case 'release':
      await pool.close();
      session = undefined;
      return null;
  }
}

// Messages are handled one at a time, in order (the parent also queues runs per session).
let tail: Promise<void> = Promise.resolve();
process.on('message', (message: ToHost) => {
  tail = tail.then(async () => {
    try {
      send({ id: message.id, ok: true, value: await handle(message) });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      send({ id: message.id, ok: false, error: { name: e.name, message: e.message } });
    }
    if (message.type === 'release') process.exit(0);
  });
});
// The parent is gone (exited, crashed, or its thread was terminated): nothing can use this session any more.
process.on('disconnect', () => process.exit(0));
