/**
 * Size limits applied to every instance before it is parsed: what the node will read at all,
 * and how far a Deflated dataset may inflate. Configured under `limits` (src/config.ts).
 */
export interface DicomLimits {
  /** Largest instance (file or part) read at all, in bytes. */
  maxInstanceBytes: number;
  /** Largest inflated dataset of a Deflated Explicit VR Little Endian instance, in bytes. */
  maxInflatedBytes: number;
  /**
   * Bytes a dataset may hold beyond its pixel data (header, sequences, overlays). An inflated
   * dataset larger than its declared image size plus this is refused as a decompression bomb.
   */
  headerAllowanceBytes: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_DICOM_LIMITS: DicomLimits = {
  maxInstanceBytes: 512 * MIB,
  maxInflatedBytes: 1024 * MIB,
  headerAllowanceBytes: 16 * MIB,
};

/** The configuration section (MiB) as byte limits. */
export function dicomLimitsFromConfig(section: { maxInstanceMb: number; maxInflatedMb: number; headerAllowanceMb: number }): DicomLimits {
  return {
    maxInstanceBytes: Math.floor(section.maxInstanceMb * MIB),
    maxInflatedBytes: Math.floor(section.maxInflatedMb * MIB),
    headerAllowanceBytes: Math.floor(section.headerAllowanceMb * MIB),
  };
}
