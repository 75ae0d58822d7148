/**
 * Child process for session-creation figures: loads onnxruntime, notes the RSS, creates one session through the
 * project's SessionPool and prints `{"ms", "cpuMs", "baselineRssKiB", "maxRssKiB", "afterRssKiB"}` (cpuMs: user + system CPU time of the
 * creation, all threads, which a loaded shared machine inflates far less than wall time). The peak above the baseline
 * is what creating that session cost, in a process that did nothing else.
 *
 * Usage: node --import tsx bench/support/session-create-once.ts '<ModelRef JSON>' '<SessionOptions JSON>'
 */
import { SessionPool, loadOrt, type ModelRef, type SessionOptions } from '../../packages/runtime/src/index.ts';

const [modelJson, optionsJson] = process.argv.slice(2);
if (!modelJson) throw new Error("usage: session-create-once.ts '<ModelRef JSON>' ['<SessionOptions JSON>']");
const model = JSON.parse(modelJson) as ModelRef;
const options = JSON.parse(optionsJson ?? '{}') as SessionOptions;
await loadOrt();
const baselineRssKiB = process.memoryUsage().rss / 1024;
const pool = new SessionPool();
const cpuBefore = process.cpuUsage();
const started = performance.now();
await pool.acquire(model, options);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const afterRssKiB = process.memoryUsage().rss / 1024;
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, baselineRssKiB, maxRssKiB: process.resourceUsage().maxRSS, afterRssKiB }) + '\n');
await pool.releaseAll();
