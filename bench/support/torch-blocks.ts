/**
 * The PyTorch side of the DiT block benchmark: a long-lived `flux_dit_reference.py serve` process holding one
 * full-width double and single block, timing one call per request. Keeping it alive lets the bench alternate our
 * runs with torch's, so each pair sees the same machine (a shared machine drifts by tens of percent within a minute).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../packages/runtime/scripts/flux_dit_reference.py', import.meta.url));

/**
 * glibc malloc without mmap and never trimmed, so freed blocks are reused by the next call instead of being returned to
 * the kernel. Torch's CPU allocator is plain malloc: by default every activation over 32 MB is a fresh mmap, and a
 * block call faulted in ~1.3 GB of new pages (0.9 s of system time alone, 1-3 s while our process ran between
 * calls). onnxruntime keeps its activations in an arena; this gives torch the equivalent (as tcmalloc or jemalloc
 * would), so the comparison is of the computation, not of the allocators.
 */
const HEAP_ONLY_MALLOC = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736';

export interface TorchBlockSpec {
  readonly hidden: number;
  readonly heads: number;
  readonly mlp: number;
  readonly txt: number;
  readonly img: number;
  readonly threads: number;
}

/** What the process says about itself: the BLAS it loaded, so a crippled baseline shows. */
export interface TorchInfo {
  readonly blas: string;
  readonly torch: string;
}

export class TorchBlocks {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterableIterator<string>,
    private readonly reader: Interface,
    readonly info: TorchInfo,
  ) {}

  /** Starts Debian's torch (/usr/bin/python3) with the blocks built; rejects when it cannot. */
  static async start(spec: TorchBlockSpec): Promise<TorchBlocks> {
    const child = spawn('/usr/bin/python3', [SCRIPT, 'serve', JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GLIBC_TUNABLES: HEAP_ONLY_MALLOC } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`torch exited with ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`)));
    });
    exited.catch(() => undefined); // observed below; never an unhandled rejection once the process ends normally
    const reader = createInterface({ input: child.stdout });
    const lines = reader[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), exited]);
    if (first.done) throw new Error(`torch said nothing: ${stderr.trim()}`);
    return new TorchBlocks(child, lines, reader, JSON.parse(first.value) as TorchInfo);
  }

  /** CPU time (ms, all threads of the torch process) of one call of the block. */
  async cpuMs(block: 'double' | 'single' | 'linear1'): Promise<number> {
    return (await this.request<{ cpu_ms: number }>(block)).cpu_ms;
  }

  /** Torch's matmul rate (1024x768x768, best wall time of ten), GFLOP/s: printed beside each ratio. */
  async gemmGflops(): Promise<number> {
    return (await this.request<{ gflops: number }>('gemm')).gflops;
  }

  private async request<T>(line: string): Promise<T> {
    this.child.stdin.write(`${line}\n`);
    const answer = await this.lines.next();
    if (answer.done) throw new Error('torch process ended');
    return JSON.parse(answer.value) as T;
  }

  close(): void {
    this.reader.close();
    this.child.stdin.end();
    this.child.kill();
  }
}
