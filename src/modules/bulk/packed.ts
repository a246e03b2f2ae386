/**
 * Texts laid end to end as UTF-8 in one buffer, outside the JavaScript heap. A bulk job holds
 * thousands of texts from its check to its commit (each valid row's record, each record event's
 * data); as strings they would be copied by the young generation's collections and marked by the
 * old one's, pausing the event loop for tens of milliseconds, and a buffer of its own can be moved
 * to another thread without a copy. Pure.
 */

const FIRST_BYTES = 64 * 1024;
const FIRST_TEXTS = 1024;

export class PackedTexts {
  private bytesHeld: Buffer;
  private endsHeld: Uint32Array;
  private size: number;
  private count: number;

  /** Empty, or the texts of `bytes` whose ends (exclusive offsets) are the first `count` of `ends`. */
  constructor(bytes?: Buffer, ends?: Uint32Array, count = 0) {
    // A buffer of its own (never a slice of the shared pool): its memory can be moved to another thread.
    this.bytesHeld = bytes ?? Buffer.allocUnsafeSlow(FIRST_BYTES);
    this.endsHeld = ends ?? new Uint32Array(FIRST_TEXTS);
    this.count = count;
    this.size = count === 0 ? 0 : this.endsHeld[count - 1]!;
  }

  get length(): number {
    return this.count;
  }

  /** The buffer the texts are in (its first bytes; the rest is room for more). */
  get bytes(): Buffer {
    return this.bytesHeld;
  }

  /** Where each text ends (the first `length`; the rest is room for more). */
  get ends(): Uint32Array {
    return this.endsHeld;
  }

  push(text: string): void {
    const size = this.size + Buffer.byteLength(text);
    if (size > this.bytesHeld.length) {
      const bytes = Buffer.allocUnsafeSlow(Math.max(size, this.bytesHeld.length * 2));
      this.bytesHeld.copy(bytes, 0, 0, this.size);
      this.bytesHeld = bytes;
    }
    if (this.count === this.endsHeld.length) {
      const ends = new Uint32Array(this.endsHeld.length * 2);
      ends.set(this.endsHeld);
      this.endsHeld = ends;
    }
    this.bytesHeld.write(text, this.size);
    this.size = size;
    this.endsHeld[this.count++] = size;
  }

  /** The k-th text (0 ≤ k < length). */
  at(k: number): string {
    if (!(k >= 0 && k < this.count)) throw new RangeError(`no text ${k} of ${this.count}`);
    return this.bytesHeld.toString('utf8', k === 0 ? 0 : this.endsHeld[k - 1], this.endsHeld[k]);
  }
}
