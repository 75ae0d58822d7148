/**
 * Child-process script for engine-host.test.ts: starts an EngineHost with the onnxruntime test pack, queues a prompt
 * that keeps the worker inside onnxruntime (`run`: a long SrvOrtMatMul run; `create`: SrvOrtSlowLoad's slow session
 * creation), and closes the host with a short grace period while the worker is inside that call. A terminate() at
 * that moment would abort this whole process (exit 134) before it prints anything; otherwise it prints one JSON line
 * (timings and the native calls the pool recorded) and then "survived".
 *
 * Usage: node --import tsx close-during-inference.ts <dataDir> <graceMs> run|create
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineHost } from '../engine-host.ts';
import { prepareDataDir } from '../data-dir.ts';
import { ORT_RUN_LOG } from './ort-pack.ts';

const [dataDir, graceArg, mode] = process.argv.slice(2);
if (!dataDir || (mode !== 'run' && mode !== 'create')) throw new Error('usage: close-during-inference.ts <dataDir> <graceMs> run|create');
const graceMs = Number(graceArg);
const d = prepareDataDir(dataDir);
const host = new EngineHost({
  packs: [fileURLToPath(new URL('./ort-pack.ts', import.meta.url))],
  env: { inputDir: d.inputDir, outputDir: d.outputDir, tempDir: d.tempDir, modelsDir: d.modelsDir },
});
await host.start();
const node =
  mode === 'run' ? { class_type: 'SrvOrtMatMul', inputs: { size: 512, depth: 600 } } : { class_type: 'SrvOrtSlowLoad', inputs: { nodes: 20_000 } };
const running = host.run({ promptId: 'ort', prompt: { '1': node }, extraData: {}, outputs: ['1'] }, () => {});

const runLog = join(d.tempDir, ORT_RUN_LOG);
const started = JSON.stringify({ event: 'start', call: mode }).slice(0, -1);
const deadline = Date.now() + 60_000;
// Wait until the worker is inside the call this mode is about (a run is preceded by its session's creation).
while (!(existsSync(runLog) && readFileSync(runLog, 'utf8').includes(started) && host.inNativeCode)) {
  if (Date.now() > deadline) throw new Error(`the worker never entered onnxruntime (${mode})`);
  await new Promise((r) => setTimeout(r, 2));
}
const closeStarted = Date.now();
await host.close(graceMs);
const closeEnded = Date.now();
const result = await running;
const calls = readFileSync(runLog, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { event: 'start' | 'end'; call: string; at: number });
console.log(JSON.stringify({ closeStarted, closeEnded, calls, status: result.status }));
console.log('survived');
