/**
 * The max PDU length the node advertises is a limit only if it is enforced: dcmjs-dimse buffers
 * whatever length a PDU header announces. This watcher reads the PDU headers (type, 4-byte length)
 * as they pass on the socket and says when one exceeds the limit, so the connection is dropped
 * before a peer (broken or hostile) makes the node buffer gigabytes.
 */
const P_DATA_TF = 0x04;
/** Association requests carry presentation contexts; 1 MiB is far above any real one. */
const OTHER_PDU_LIMIT = 1 << 20;

export interface PduGuard {
  /** Feed received bytes; returns a reason when a PDU is over the limit, else null. */
  inspect(chunk: Buffer): string | null;
}

export function createPduGuard(maxPduBytes: number): PduGuard {
  let header = Buffer.alloc(0);
  let bodyLeft = 0;
  return {
    inspect(chunk: Buffer): string | null {
      let offset = 0;
      while (offset < chunk.length) {
        if (bodyLeft > 0) {
          const skip = Math.min(bodyLeft, chunk.length - offset);
          bodyLeft -= skip;
          offset += skip;
          continue;
        }
        const take = Math.min(6 - header.length, chunk.length - offset);
        header = Buffer.concat([header, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (header.length < 6) return null;
        const type = header[0];
        const length = header.readUInt32BE(2);
        header = Buffer.alloc(0);
        const limit = type === P_DATA_TF ? maxPduBytes : OTHER_PDU_LIMIT;
        if (length > limit) return `PDU of type ${type} announces ${length} bytes; the limit is ${limit}`;
        bodyLeft = length;
      }
      return null;
    },
  };
}
