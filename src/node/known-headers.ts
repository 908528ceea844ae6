/**
 * The headers the intake parsed, kept for the analysis of their study. When a study's quiet period
 * ends, reading and parsing every header again (dcmjs, ~1 ms an instance) was most of what came
 * before the stages; the intake had parsed each one from the very bytes it spooled.
 *
 * A header is used only for the file the intake wrote (`SpooledFile`: inode, size, modification
 * time; one `stat` at look-up): a copy renamed over it since, or a file changed by anything else,
 * is read and parsed as before. Only within this process (a worker process of its own, role
 * worker, parses). Bounded: beyond `capacity` the header kept longest is forgotten (a header is
 * ~1 KB for a CT slice, a few KB with large private groups).
 */
import type { Counter } from 'prom-client';
import { stat } from 'node:fs/promises';
import type { InstanceHeader } from '../dicom/types.ts';
import { sameSpooledFile, spooledFileOf, type SpooledFile } from '../intake/spool.ts';
import type { StoredInstance } from '../intake/store-instance.ts';

/** Headers kept at most: a few 1,000-slice studies. */
export const KNOWN_HEADERS_CAPACITY = 20_000;

export interface KnownHeaders {
  /** The intake stored an instance: keep its header with the file it wrote (nothing when it kept an older copy). */
  remember(stored: StoredInstance): void;
  /** The header of the file at `path` when it is still the one the intake wrote; undefined otherwise. Never throws. */
  lookup(path: string): Promise<InstanceHeader | undefined>;
}

/** `lookedUp` counts look-ups of remembered paths: used, or changed (the file is another one now). */
export function createKnownHeaders(lookedUp: Counter<'outcome'>, capacity = KNOWN_HEADERS_CAPACITY): KnownHeaders {
  const known = new Map<string, { file: SpooledFile; header: InstanceHeader }>();
  return {
    remember({ path, header, written }) {
      // A copy kept in place of this one: whatever was remembered for the path still describes it.
      if (!written) return;
      known.delete(path);
      known.set(path, { file: written, header });
      if (known.size > capacity) known.delete(known.keys().next().value!);
    },
    async lookup(path) {
      const entry = known.get(path);
      if (!entry) return undefined;
      const now = await stat(path, { bigint: true }).catch(() => null);
      if (now && sameSpooledFile(entry.file, spooledFileOf(now))) {
        lookedUp.inc({ outcome: 'used' });
        return entry.header;
      }
      known.delete(path);
      lookedUp.inc({ outcome: 'changed' });
      return undefined;
    },
  };
}
