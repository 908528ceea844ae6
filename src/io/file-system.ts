/**
 * What kind of file system holds a path, from statfs(2)'s f_type (Linux magic numbers,
 * linux/magic.h). The node needs to know one thing: whether a path is on network storage, where
 * SQLite's locking and WAL shared memory do not work across machines (sqlite.org/wal.html: "WAL
 * does not work over a network filesystem").
 */
import { statfs } from 'node:fs/promises';

/** f_type of network and user-space file systems (nfs, smb/cifs, ceph, afs, 9p, fuse: sshfs, glusterfs…). */
const NETWORK_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'nfs'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x00c36400, 'ceph'],
  [0x5346414f, 'afs'],
  [0x6b414653, 'afs'],
  [0x01021997, 'v9fs'],
  [0x65735546, 'fuse'],
]);

/** The name of a network file system from statfs's f_type, or null for any other. */
export function networkFileSystemName(type: number): string | null {
  // statfs reports f_type as a signed 32-bit number on some platforms: compare it unsigned.
  return NETWORK_FILE_SYSTEMS.get(type >>> 0) ?? null;
}

/** The network file system holding `path` ('nfs', 'cifs', …), or null for a local one (or a platform without f_type). */
export async function networkFileSystemOf(path: string): Promise<string | null> {
  return networkFileSystemName((await statfs(path)).type);
}
