/**
 * Reading an instance from disk: only regular files, only up to the size limit. A FIFO,
 * socket or device (/dev/zero) given as input is refused by what it is, never read: reading one
 * would block forever or never end.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { CtMuscleError } from '../errors.ts';

function describeKind(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * A buffer a reader keeps from one file to the next (a decoding lane reads hundreds of slices of
 * one size): fresh memory costs a page fault per 4 KiB on first touch, more than reading it.
 */
export class ReusableBuffer {
  private bytes = Buffer.alloc(0);

  /** `length` bytes; the contents are whatever the last use left. */
  take(length: number): Buffer {
    if (this.bytes.length < length) this.bytes = Buffer.allocUnsafeSlow(length);
    return this.bytes.subarray(0, length);
  }
}

export interface ReadFileOptions {
  /**
   * Read only the first `bytes` (a header) and ask `wantsAll` whether the rest is needed; the
   * file is opened and checked once either way. Without it the whole file is read. `into`: read
   * the head into this buffer (valid until its next use; `wantsAll` must not keep it).
   */
  head?: { bytes: number; wantsAll(head: Buffer): boolean; into?: ReusableBuffer };
  /** Read into this buffer: the bytes returned are then only valid until its next use. */
  into?: ReusableBuffer;
}

/** Fill `target` from the file's start; a file that shrank while being read is an I/O error. */
async function readFully(handle: FileHandle, target: Uint8Array, from: number, path: string): Promise<void> {
  for (let at = from; at < target.length; ) {
    const { bytesRead } = await handle.read(target, at, target.length - at, at);
    if (bytesRead === 0) throw new CtMuscleError('E_IO', `Cannot read ${path}: the file ended after ${at} of ${target.length} bytes (it changed while it was read).`);
    at += bytesRead;
  }
}

/**
 * The bytes of a regular file of at most maxBytes (or its head, see `options.head`);
 * E_NOT_A_FILE, E_INSTANCE_TOO_LARGE or E_IO otherwise.
 */
export async function readRegularFile(path: string, maxBytes: number, options: ReadFileOptions = {}): Promise<Buffer> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new CtMuscleError('E_IO', `Cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new CtMuscleError('E_NOT_A_FILE', `${path} is ${describeKind(info)}, not a regular file; it is not read.`);
    if (info.size > maxBytes) {
      throw new CtMuscleError('E_INSTANCE_TOO_LARGE', `${path} is ${info.size} bytes; the configured maximum is ${maxBytes} (limits.maxInstanceMb).`);
    }
    const { head, into } = options;
    if (head && head.bytes < info.size) {
      const first = head.into ? head.into.take(head.bytes) : Buffer.allocUnsafe(head.bytes);
      await readFully(handle, first, 0, path);
      if (!head.wantsAll(first)) return first;
      const all = into ? into.take(info.size) : Buffer.allocUnsafe(info.size);
      all.set(first);
      await readFully(handle, all, first.length, path);
      return all;
    }
    const all = into ? into.take(info.size) : Buffer.allocUnsafe(info.size);
    await readFully(handle, all, 0, path);
    return all;
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    throw new CtMuscleError('E_IO', `Cannot read ${path}: ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
}
