/**
 * Canonical text and a fast 128-bit hash for cache keys. Core runs in the browser too, so no `node:crypto`; the
 * hash only has to make accidental collisions negligible (2^-64 and better), not resist an attacker who writes prompts.
 */

/** What `canonicalize` learned about a value besides its text. */
export interface CanonicalForm {
  text: string;
  /** The value contains something that never equals itself (NaN): a key built from it must never match. */
  unstable: boolean;
}

/**
 * A text that is equal for structurally equal values: object keys sorted, types tagged (1 and "1" differ), -0 kept.
 * NaN marks the form unstable, as ComfyUI's `IS_CHANGED` returning NaN forces a re-run.
 */
export function canonicalize(value: unknown): CanonicalForm {
  const state: WriteState = { unstable: false, seen: undefined };
  const text = write(value, state);
  return { text, unstable: state.unstable };
}

interface WriteState {
  unstable: boolean;
  /** Objects on the current path (cycle guard); created on the first object, since most inputs are scalars. */
  seen: Set<object> | undefined;
}

function write(value: unknown, state: WriteState): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (value !== value) {
        state.unstable = true;
        return 'NaN';
      }
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return `${value}n`;
    case 'symbol':
    case 'function':
      // Not comparable by structure; treat like NaN so the result is never reused by mistake.
      state.unstable = true;
      return typeof value;
    case 'object': {
      if (value === null) return 'null';
      state.seen ??= new Set();
      if (state.seen.has(value)) {
        state.unstable = true;
        return 'cycle';
      }
      state.seen.add(value);
      try {
        if (Array.isArray(value)) return `[${value.map((v) => write(v, state)).join(',')}]`;
        if (ArrayBuffer.isView(value)) {
          const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
          return `${value.constructor.name}(${value.byteLength}:${hashBytes(bytes)})`;
        }
        if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength}:${hashBytes(new Uint8Array(value))})`;
        if (value instanceof Map) {
          return `Map{${[...value].map(([k, v]) => `${write(k, state)}=>${write(v, state)}`).join(',')}}`;
        }
        if (value instanceof Set) return `Set{${[...value].map((v) => write(v, state)).join(',')}}`;
        if (value instanceof Date) return `Date(${value.getTime()})`;
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record).sort();
        const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
        const tag = proto && proto !== Object.prototype ? (proto.constructor?.name ?? '') : '';
        return `${tag}{${keys.map((k) => `${JSON.stringify(k)}:${write(record[k], state)}`).join(',')}}`;
      } finally {
        state.seen!.delete(value);
      }
    }
  }
}

const P1 = 0x85ebca6b;
const P2 = 0xc2b2ae35;
const P3 = 0x27d4eb2f;
const P4 = 0x165667b1;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, P1);
  h ^= h >>> 13;
  h = Math.imul(h, P2);
  h ^= h >>> 16;
  return h >>> 0;
}

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Scratch for the 32 hex digits, turned into one flat string at once (a retained key is then a single object). */
const digits = new Array<number>(32).fill(0);

function putHex(h: number, at: number): void {
  for (let i = 7; i >= 0; i--) {
    digits[at + i] = HEX_CODES[h & 0xf]!;
    h >>>= 4;
  }
}

/** Something that takes a text piece by piece: a hasher, or a plain string builder for debugging. */
export interface TextSink {
  update(text: string): void;
}

/**
 * An incremental 128-bit hash: feeding pieces equals feeding their concatenation, so keys are hashed without building
 * the signature text. Four lanes take each UTF-16 unit and are cross-mixed at the end with the total length.
 */
export class Hasher128 implements TextSink {
  #a = 0x9e3779b9;
  #b = 0x7f4a7c15;
  #c = 0x94d049bb;
  #d = 0x2545f491;
  #length = 0;

  update(text: string): void {
    let a = this.#a;
    let b = this.#b;
    let c = this.#c;
    let d = this.#d;
    for (let i = 0; i < text.length; i++) {
      const u = text.charCodeAt(i);
      a = Math.imul(a ^ u, 0x01000193);
      b = Math.imul(b ^ u, P3) ^ (a >>> 15);
      c = Math.imul(c ^ u, P4) + (b >>> 13);
      d = Math.imul(d ^ u, 0x5bd1e995) ^ (c >>> 17);
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
    this.#length += text.length;
  }

  /** The hash as 32 hex digits; the hasher is reset for the next text. */
  digest(): string {
    let a = fmix(this.#a ^ this.#length);
    let b = fmix(this.#b ^ a);
    let c = fmix(this.#c + b);
    let d = fmix(this.#d ^ c);
    a = fmix(a + d);
    b = fmix(b ^ a);
    c = fmix(c + b);
    d = fmix(d ^ c);
    putHex(a, 0);
    putHex(b, 8);
    putHex(c, 16);
    putHex(d, 24);
    this.#a = 0x9e3779b9;
    this.#b = 0x7f4a7c15;
    this.#c = 0x94d049bb;
    this.#d = 0x2545f491;
    this.#length = 0;
    return String.fromCharCode.apply(null, digits);
  }
}

const shared = new Hasher128();

/** A 128-bit hash of a string as 32 hex digits. */
export function hashString(text: string): string {
  shared.update(text);
  return shared.digest();
}

/** The same hash over raw bytes (typed arrays in constants or fingerprints). */
export function hashBytes(bytes: Uint8Array): string {
  let text = '';
  // Chunks keep String.fromCharCode's argument list small for large buffers.
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return hashString(text);
}
