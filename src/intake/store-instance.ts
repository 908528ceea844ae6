/**
 * The one door into the node: every receiver (STOW-RS, the DIMSE C-STORE SCP) hands
 * each instance to a `StoreInstance` function and answers its sender from the result. The
 * function checks the instance (header readable, pixel data complete for its declared size:
 * nothing cut is acknowledged), spools the instance (fsynced before it returns 'stored'), and tells
 * the assembly. Receivers never touch the spool or the queue themselves.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_DICOM_LIMITS, type DicomLimits } from '../dicom/limits.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import { checkInstance, checkInstanceCompleteness, compareCopies, type InstanceCheck, type PixelCompleteness } from '../dicom/check-instance.ts';
import { spoolInstanceFile, type KeepExisting, type Spooled, type SpooledFile } from './spool.ts';

export interface StoreMeta {
  /** Which receiver sent it ('stow-rs', 'dimse', …): logs and labels. */
  via: string;
  /** Refuse an instance of any other study (STOW-RS to /studies/{uid}). */
  expectedStudyInstanceUid?: string;
  /** Refuse a data set of another SOP class or instance than its command announced (C-STORE). */
  expectedSopClassUid?: string;
  expectedSopInstanceUid?: string;
  /** Who sent it (calling AE title, remote address): logs only. */
  from?: string;
  /** How the receiver names the instance in messages ('STOW part', a file name). */
  label?: string;
}

/** Why an instance was refused: receivers map this onto their protocol's status codes. */
export type RefusalReason = 'cannot-understand' | 'study-mismatch' | 'sop-mismatch' | 'out-of-resources';

export interface StoredInstance {
  status: 'stored';
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** Where the instance is in the spool. */
  path: string;
  /** Its header (no pixels), with `source` pointing at the spooled file. */
  header: InstanceHeader;
  /** The file this store wrote at `path` (the header is of its bytes); null when a better copy already there was kept. */
  written: SpooledFile | null;
}

export interface RefusedInstance {
  status: 'refused';
  reason: RefusalReason;
  /** Stable error code (src/errors.ts), e.g. E_IO, E_MISSING_UID, E_STUDY_MISMATCH. */
  code: string;
  /** For the sender, as the receiver shows it. */
  message: string;
  /** Known when the header could be read. */
  sopClassUid?: string;
  sopInstanceUid?: string;
}

export type StoreResult = StoredInstance | RefusedInstance;

/** Store one instance: its Part 10 bytes, or the path of a file holding them. Never throws. */
export type StoreInstance = (instance: Uint8Array | string, meta: StoreMeta) => Promise<StoreResult>;

export interface InstanceStoreOptions {
  spoolDir: string;
  /** Per-instance limits (config `limits`); the defaults of src/dicom/limits.ts when absent. */
  limits?: DicomLimits;
  /** Told of each stored instance once it is on disk (the assembly); its failure is logged, not the sender's. */
  onStored?: (stored: StoredInstance) => void | Promise<void>;
}

function refused(reason: RefusalReason, code: string, message: string, ids: { sopClassUid?: string; sopInstanceUid?: string } = {}): RefusedInstance {
  return { status: 'refused', reason, code, message, ...ids };
}

/** What the receiver's request said the instance is, against what its header says. */
function checkExpected(header: InstanceHeader, meta: StoreMeta): RefusedInstance | null {
  const { expectedStudyInstanceUid: study, expectedSopClassUid: sopClass, expectedSopInstanceUid: sopInstance } = meta;
  if (study && header.studyInstanceUid !== study) {
    return refused('study-mismatch', 'E_STUDY_MISMATCH', `StudyInstanceUID ${header.studyInstanceUid} differs from the URL's ${study}.`);
  }
  if (sopClass && header.sopClassUid !== sopClass) {
    return refused('sop-mismatch', 'E_SOP_MISMATCH', `SOPClassUID ${header.sopClassUid} differs from the command's ${sopClass}.`);
  }
  if (sopInstance && header.sopInstanceUid !== sopInstance) {
    return refused('sop-mismatch', 'E_SOP_MISMATCH', "SOPInstanceUID differs from the command's.");
  }
  return null;
}

async function bytesOf(instance: Uint8Array | string): Promise<Uint8Array> {
  return typeof instance === 'string' ? new Uint8Array(await readFile(instance)) : instance;
}

/** A kept copy stays unless the incoming one is at least as good (complete beats cut; more pixel data beats less). */
function keepBetterCopy(incoming: PixelCompleteness): KeepExisting {
  return async (existingPath) => {
    const existing = await checkInstanceCompleteness(existingPath);
    return existing !== null && compareCopies(incoming, existing) < 0;
  };
}

/**
 * The hostile-input checks (src/dicom/check-instance.ts) for every receiver: size, bounded
 * structure walk and inflation, valid UIDs, pixel data complete for the declared image — or the
 * refusal to answer with.
 */
async function acceptance(instance: Uint8Array | string, meta: StoreMeta, limits: DicomLimits): Promise<{ bytes: Uint8Array; checked: Extract<InstanceCheck, { ok: true }> } | RefusedInstance> {
  let bytes: Uint8Array;
  try {
    bytes = await bytesOf(instance);
  } catch (error) {
    const { code, message } = describeError(error);
    return refused(code === 'E_IO' || code === 'E_INTERNAL' ? 'out-of-resources' : 'cannot-understand', code, `${code}: ${message}`);
  }
  const checked = await checkInstance(bytes, limits, meta.label ?? meta.via);
  // An instance over the limits (a decompression bomb among them) is refused on its own: it is not
  // the node running out of room, so senders are not told to retry it (STOW-RS 503, DIMSE A700).
  if (!checked.ok) return refused('cannot-understand', checked.code, `${checked.code}: ${checked.message}`);
  return { bytes, checked };
}

export function createInstanceStore(options: InstanceStoreOptions): StoreInstance {
  return async (instance, meta) => {
    const accepted = await acceptance(instance, meta, options.limits ?? DEFAULT_DICOM_LIMITS);
    if ('status' in accepted) return accepted;
    const { bytes, checked } = accepted;
    const header: InstanceHeader = checked.header;
    const ids = { sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid };
    const mismatch = checkExpected(header, meta);
    if (mismatch) return { ...mismatch, ...ids };
    let spooled: Spooled;
    try {
      spooled = await spoolInstanceFile(options.spoolDir, header.studyInstanceUid, header.sopInstanceUid, bytes, keepBetterCopy(checked.completeness));
    } catch (error) {
      const { code, message } = describeError(error);
      return refused(code === 'E_IO' ? 'out-of-resources' : 'cannot-understand', code, `${code}: ${message}`, ids);
    }
    const { path, written } = spooled;
    const stored: StoredInstance = { status: 'stored', ...ids, studyInstanceUid: header.studyInstanceUid, seriesInstanceUid: header.seriesInstanceUid, path, header: { ...header, source: { kind: 'file', path } }, written };
    try {
      await options.onStored?.(stored);
    } catch (error) {
      // The instance is on disk and will be acknowledged; a failing consumer must not turn that into a refusal.
      logger.error('intake of stored instances failed', describeError(error));
    }
    return stored;
  };
}
