/**
 * DEV-ONLY helper of make-siglip-fixtures.py: writes the toy SigLIP, projector and input files (the same bytes the
 * parity tests generate) into the folder given as the first argument.
 * Run: node --import tsx packages/runtime/scripts/write-siglip-tiny.ts DIR
 */
import { writeTinyFiles } from '../src/models/architectures/siglip-tiny.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: write-siglip-tiny.ts DIR');
process.stdout.write(`${JSON.stringify(writeTinyFiles(dir))}\n`);
