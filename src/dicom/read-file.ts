/**
 * Reading an instance from disk: only regular files, only up to the size limit. A FIFO,
 * socket or device (/dev/zero) given as input is refused by what it is, never read: reading one
 * would block forever or never end.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { CtMuscleError } from '../errors.ts';

function describeKind(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** The bytes of a regular file of at most maxBytes; E_NOT_A_FILE, E_INSTANCE_TOO_LARGE or E_IO otherwise. */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
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
    return await handle.readFile();
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    throw new CtMuscleError('E_IO', `Cannot read ${path}: ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
}
