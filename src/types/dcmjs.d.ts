// dcmjs ships no type declarations; this covers the parts the node uses.
declare module 'dcmjs' {
  export interface DicomElement {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
  }
  export type DicomJsonDict = Record<string, DicomElement>;

  export class DicomDict {
    constructor(meta: DicomJsonDict);
    meta: DicomJsonDict;
    dict: DicomJsonDict;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }

  export class ReadBufferStream {
    constructor(buffer: ArrayBuffer, littleEndian?: boolean | null, options?: Record<string, unknown>);
    reset(): void;
    offset: number;
  }

  export interface ReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
    stopOnGreaterTag?: boolean;
  }

  export const data: {
    /** 1-bit packing as dcmjs's SEG derivation does it: one continuous bit stream, first pixel in bit 0. */
    BitArray: {
      getBytesForBinaryFrame(numPixels: number): number;
      pack(pixelData: Uint8Array): Uint8Array;
      unpack(bitPixelData: Uint8Array | ArrayBuffer): Uint8Array;
    };
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
      _read(stream: ReadBufferStream, syntax: string, options?: ReadOptions): DicomJsonDict;
    };
    DicomDict: typeof DicomDict;
    ReadBufferStream: typeof ReadBufferStream;
    DicomMetaDictionary: {
      naturalizeDataset(dict: DicomJsonDict): Record<string, unknown>;
      denaturalizeDataset(dataset: Record<string, unknown>): DicomJsonDict;
      uid(): string;
      date(): string;
      time(): string;
    };
  };
  export const log: { setLevel(level: string): void; getLogger(name: string): { setLevel(level: string): void } };
  export const derivations: Record<string, unknown>;
  const dcmjs: { data: typeof data; log: typeof log; derivations: typeof derivations };
  export default dcmjs;
}
