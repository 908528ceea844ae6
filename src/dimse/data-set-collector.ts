/**
 * Where dcmjs-dimse puts a C-STORE data set as its P-DATA fragments arrive: kept in memory (one
 * instance per association at a time, like a STOW-RS part) up to the configured instance size;
 * past that, bytes are counted and dropped so the request can be refused without buffering it.
 */
import { Writable } from 'node:stream';

export class DataSetCollector extends Writable {
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(
    readonly maxBytes: number,
    /** The transfer syntax negotiated for the presentation context the data set came on. */
    readonly transferSyntaxUid: string,
  ) {
    super();
  }

  // dcmjs-dimse awaits 'drain' when write() returns false; taking every chunk synchronously keeps
  // its PDU handling strictly in order (a pending drain would let the next PDU overtake this one).
  override write(chunk: unknown): boolean {
    const buffer = chunk as Buffer;
    this.received += buffer.length;
    if (this.received <= this.maxBytes) this.chunks.push(buffer);
    return true;
  }

  override end(): this {
    return this;
  }

  get byteLength(): number {
    return this.received;
  }

  get overLimit(): boolean {
    return this.received > this.maxBytes;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks, Math.min(this.received, this.maxBytes));
  }
}
