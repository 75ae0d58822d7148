// Entry point of TypeScript child processes: register tsx here (resolved from this package, whatever the working
// directory) and import the real entry, given as the first argument.
import { tsImport } from 'tsx/esm/api';

await tsImport(process.argv[2], import.meta.url);
