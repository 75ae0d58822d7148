/**
 * Child process for the USO pipeline bench's peak-memory figure: runs one workflow headless through the CLI's
 * runWorkflow and prints `{"maxRssKiB": n, "ms": t}` (process.resourceUsage's maxRSS is in KiB on Linux), so the figure
 * covers exactly one run in a process of its own.
 *
 * Usage: node --import tsx bench/support/uso-run-once.ts <workflow.json> <dataDir> [override ...]
 */
import { runWorkflow } from '../../packages/cli/src/index.ts';

const [workflow, dataDir, ...overrides] = process.argv.slice(2);
if (!workflow || !dataDir) throw new Error('usage: uso-run-once.ts <workflow.json> <dataDir> [override ...]');
const started = performance.now();
const result = await runWorkflow(workflow, { dataDir, overrides });
if (result.status !== 'success') throw new Error(`run ended with ${result.status}`);
process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, ms: performance.now() - started }) + '\n');
