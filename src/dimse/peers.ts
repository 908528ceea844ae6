/**
 * Which calling AE titles may open an association, from which hosts, and where results go back to
 * a known AE. An empty list admits any AE title; config.ts allows that only on a loopback listener.
 */
import { isIP } from 'node:net';

export interface KnownAe {
  aeTitle: string;
  /** IP addresses the AE may connect from (config.ts checks they are IP literals); absent or empty: any. */
  hosts?: string[];
  /** Where the AE receives C-STORE, for "results back to the sending AE". */
  returnTo?: { host: string; port: number };
}

export type CallingAeVerdict = { ok: true; known?: KnownAe } | { ok: false; reason: 'calling-ae-not-recognized' | 'host-not-allowed' };

/** "::ffff:10.0.0.5" (an IPv4 peer on a dual-stack socket) is 10.0.0.5. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

export function judgeCallingAe(knownAes: KnownAe[], callingAeTitle: string, peerAddress: string | undefined): CallingAeVerdict {
  if (knownAes.length === 0) return { ok: true };
  const title = callingAeTitle.trim();
  const known = knownAes.find((ae) => ae.aeTitle === title);
  if (!known) return { ok: false, reason: 'calling-ae-not-recognized' };
  if (known.hosts && known.hosts.length > 0) {
    const peer = normalizeAddress(peerAddress);
    // IP literals only: a host name would need a DNS lookup per association, and DNS can be spoofed.
    const allowed = known.hosts.some((host) => isIP(host) !== 0 && normalizeAddress(host) === peer);
    if (!allowed) return { ok: false, reason: 'host-not-allowed' };
  }
  return { ok: true, known };
}
