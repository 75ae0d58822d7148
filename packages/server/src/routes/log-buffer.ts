/**
 * The server's recent log lines, as ComfyUI's app/logger.py keeps them for `/internal/logs`: a ring of the last
 * entries `{t: ISO time, m: text}`, and listeners (the WebSocket `logs` subscription) told of each new batch.
 */

export interface LogEntry {
  t: string;
  m: string;
}

export class LogBuffer {
  readonly #entries: LogEntry[] = [];
  readonly #listeners = new Set<(entries: LogEntry[]) => void>();

  constructor(readonly capacity = 300) {}

  /** Records one line (a newline is added, as a line written to a terminal has one). */
  add(message: string): void {
    const entry = { t: new Date().toISOString(), m: message.endsWith('\n') ? message : `${message}\n` };
    this.#entries.push(entry);
    if (this.#entries.length > this.capacity) this.#entries.splice(0, this.#entries.length - this.capacity);
    for (const listener of this.#listeners) listener([entry]);
  }

  entries(): LogEntry[] {
    return [...this.#entries];
  }

  /** ComfyUI's `/internal/logs` text: every entry as `time - message`, concatenated. */
  text(): string {
    return this.#entries.map((e) => `${e.t} - ${e.m}`).join('');
  }

  onEntries(listener: (entries: LogEntry[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
