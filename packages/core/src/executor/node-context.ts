/**
 * The ExecutionContext handed to a node's execute: ids, prompt, extra data, env, signal, log, progress and preview.
 */
import type { ApiPrompt, ExecutionContext, HostEnvironment, NodeLogger, PreviewImage } from '../node-api.ts';

/** What a context needs from the prompt run that owns it. */
export interface ContextHost {
  readonly promptId: string;
  readonly prompt: ApiPrompt;
  readonly extraData: Record<string, unknown>;
  readonly env: HostEnvironment;
  readonly signal: AbortSignal;
  readonly logger: NodeLogger;
  displayNodeOf(nodeId: string): string;
  /** Reports progress; throws InterruptedError once the prompt is interrupted. */
  reportProgress(nodeId: string, value: number, max: number): void;
  reportPreview(nodeId: string, image: PreviewImage): void;
  previewWanted(nodeId: string): boolean;
}

/** What a node sees while it runs. A class rather than closures: one object per node, nothing re-created per call. */
export class NodeContext implements ExecutionContext {
  readonly #run: ContextHost;
  readonly nodeId: string;
  readonly displayNodeId: string;
  readonly #classType: string;
  #log: NodeLogger | undefined;

  constructor(run: ContextHost, nodeId: string, classType: string) {
    this.#run = run;
    this.nodeId = nodeId;
    this.displayNodeId = run.displayNodeOf(nodeId);
    this.#classType = classType;
  }

  get log(): NodeLogger {
    return (this.#log ??= new PrefixedLogger(this.#run.logger, `[${this.#classType} #${this.nodeId}] `));
  }

  get promptId(): string {
    return this.#run.promptId;
  }
  get prompt(): ApiPrompt {
    return this.#run.prompt;
  }
  get extraData(): Record<string, unknown> {
    return this.#run.extraData;
  }
  get env(): HostEnvironment {
    return this.#run.env;
  }
  get signal(): AbortSignal {
    return this.#run.signal;
  }

  progress(value: number, max: number): void {
    this.#run.reportProgress(this.nodeId, value, max);
  }

  preview(image: PreviewImage): void {
    this.#run.reportPreview(this.nodeId, image);
  }

  previewWanted(): boolean {
    return this.#run.previewWanted(this.nodeId);
  }
}

class PrefixedLogger implements NodeLogger {
  constructor(
    readonly target: NodeLogger,
    readonly prefix: string,
  ) {}
  debug(message: string): void {
    this.target.debug(this.prefix + message);
  }
  info(message: string): void {
    this.target.info(this.prefix + message);
  }
  warn(message: string): void {
    this.target.warn(this.prefix + message);
  }
  error(message: string): void {
    this.target.error(this.prefix + message);
  }
}
