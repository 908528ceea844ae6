/** Files and folders → instance headers, with a typed error for every file that cannot be used. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors.ts';
import { readInstanceHeader } from './read.ts';
import type { InstanceHeader } from './types.ts';

export interface ScanError {
  path: string;
  code: string;
  message: string;
}

export interface ScanResult {
  headers: InstanceHeader[];
  errors: ScanError[];
}

const MEDIA_DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';

/** Files nobody means as images: hidden files and media directories. */
function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name.toUpperCase() === 'DICOMDIR';
}

async function listFiles(path: string, errors: ScanError[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    errors.push({ path, code: 'E_IO', message: `Cannot read ${path}: ${(error as Error).message}` });
    return [];
  }
  if (info.isFile()) return [path];
  if (!info.isDirectory()) return [];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(child, errors)));
    else if (entry.isFile()) files.push(child);
  }
  return files;
}

/** Read headers of every file under the given paths; a bad file becomes an error entry and never stops the scan. */
export async function scanPaths(paths: string[], concurrency = 8): Promise<ScanResult> {
  const errors: ScanError[] = [];
  const files: string[] = [];
  for (const path of paths) files.push(...(await listFiles(path, errors)));
  const headers: Array<InstanceHeader | undefined> = new Array(files.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const index = next++;
      const path = files[index];
      try {
        const header = await readInstanceHeader({ kind: 'file', path });
        if (header.sopClassUid !== MEDIA_DIRECTORY_SOP_CLASS) headers[index] = header;
      } catch (error) {
        errors.push({ path, ...describeError(error) });
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  errors.sort((a, b) => a.path.localeCompare(b.path));
  return { headers: headers.filter((h): h is InstanceHeader => h !== undefined), errors };
}

