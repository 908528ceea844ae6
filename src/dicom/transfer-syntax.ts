/** Transfer syntaxes the node reads, and how their pixel data is stored. */
export const TS = {
  implicitVrLittleEndian: '1.2.840.10008.1.2',
  explicitVrLittleEndian: '1.2.840.10008.1.2.1',
  deflatedExplicitVrLittleEndian: '1.2.840.10008.1.2.1.99',
  explicitVrBigEndian: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kLosslessRpcl: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
  rleLossless: '1.2.840.10008.1.2.5',
} as const;

/** Syntaxes whose PixelData is a plain (native) value rather than encapsulated fragments. */
export const NATIVE_SYNTAXES: ReadonlySet<string> = new Set([
  TS.implicitVrLittleEndian,
  TS.explicitVrLittleEndian,
  TS.deflatedExplicitVrLittleEndian,
  TS.explicitVrBigEndian,
]);

/** Lossy syntaxes: decoded values differ from the original within the codec's error. */
export const LOSSY_SYNTAXES: ReadonlySet<string> = new Set([TS.jpegBaseline, TS.jpegExtended, TS.jpegLsNearLossless, TS.jpeg2000, TS.htj2k]);

export const TRANSFER_SYNTAX_NAMES: Readonly<Record<string, string>> = {
  [TS.implicitVrLittleEndian]: 'Implicit VR Little Endian',
  [TS.explicitVrLittleEndian]: 'Explicit VR Little Endian',
  [TS.deflatedExplicitVrLittleEndian]: 'Deflated Explicit VR Little Endian',
  [TS.explicitVrBigEndian]: 'Explicit VR Big Endian',
  [TS.jpegBaseline]: 'JPEG Baseline (Process 1)',
  [TS.jpegExtended]: 'JPEG Extended (Process 2 & 4)',
  [TS.jpegLossless]: 'JPEG Lossless (Process 14)',
  [TS.jpegLosslessSv1]: 'JPEG Lossless SV1 (Process 14, selection value 1)',
  [TS.jpegLsLossless]: 'JPEG-LS Lossless',
  [TS.jpegLsNearLossless]: 'JPEG-LS Near-Lossless',
  [TS.jpeg2000Lossless]: 'JPEG 2000 Lossless',
  [TS.jpeg2000]: 'JPEG 2000',
  [TS.htj2kLossless]: 'HTJ2K Lossless',
  [TS.htj2kLosslessRpcl]: 'HTJ2K Lossless RPCL',
  [TS.htj2k]: 'HTJ2K',
  [TS.rleLossless]: 'RLE Lossless',
};

export function transferSyntaxName(uid: string): string {
  return TRANSFER_SYNTAX_NAMES[uid] ?? `unknown transfer syntax ${uid}`;
}
