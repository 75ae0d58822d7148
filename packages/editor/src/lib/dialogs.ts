/**
 * In-page dialogs (never window.confirm / window.prompt, which block the page and cannot be styled or tested): a
 * question with buttons, optionally with a text field. One shows at a time; later questions wait their turn.
 */

export interface DialogButton {
  label: string;
  /** What `ask` resolves with when this button is chosen. */
  value: string;
  kind?: 'primary' | 'danger' | 'plain';
}

export interface DialogRequest {
  id: number;
  title: string;
  message: string;
  /** Paths or names the question is about, shown as a list. */
  items?: string[];
  buttons: DialogButton[];
  /** A text field (a file name to save as, a new name); its value comes back in the answer. */
  input?: { label: string; value: string };
}

/** The chosen button's value (null when dismissed with Escape or the close button) and the text field's value. */
export interface DialogAnswer { choice: string | null; text: string }

let dialogId = 0;

export class Dialogs {
  #show: (request: DialogRequest | null) => void;
  #queue: { request: DialogRequest; resolve: (a: DialogAnswer) => void }[] = [];

  /** `show` puts a request on screen (null hides the dialog). */
  constructor(show: (request: DialogRequest | null) => void) {
    this.#show = show;
  }

  ask(request: Omit<DialogRequest, 'id'>): Promise<DialogAnswer> {
    return new Promise((resolve) => {
      this.#queue.push({ request: { ...request, id: ++dialogId }, resolve });
      if (this.#queue.length === 1) this.#show(this.#queue[0]!.request);
    });
  }

  /** The dialog on screen was answered (`choice` null: dismissed). */
  answer(choice: string | null, text?: string): void {
    const current = this.#queue.shift();
    if (!current) return;
    this.#show(this.#queue[0]?.request ?? null);
    current.resolve({ choice, text: text ?? current.request.input?.value ?? '' });
  }

  get open(): boolean {
    return this.#queue.length > 0;
  }
}
