export { loadOrt, type OrtModule } from './ort.ts';
export { fromOrtTensor, toOrtTensor } from './tensor-convert.ts';
export {
  SessionPool,
  type ModelRef,
  type PooledSession,
  type Provider,
  type ProviderUse,
  type SessionOptions,
  type SessionPoolOptions,
  type NativeCall,
} from './session-pool.ts';
export { spawnTsWorker } from './ts-worker.ts';
export { IsolatedSession, RunInterruptedError, SessionProcessExitError } from './isolated-session.ts';
