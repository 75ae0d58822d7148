/**
 * A standalone entry: `node --import tsx packages/server/src/main.ts [serve flags]`. The CLI's `serve` does the same
 * through `startServer`; tests spawn this file to kill a real server process.
 */
import { parseServeArgs, startServer } from './start.ts';

try {
  await startServer(parseServeArgs(process.argv.slice(2)));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
