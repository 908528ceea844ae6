/**
 * Real DICOM peers for the DIMSE tests: dcmtk's echoscu/storescu as child processes (async, so
 * the node in the same process keeps serving), and a dcmjs-dimse client for what dcmtk cannot be
 * told to do (abort mid-association, send a corrupt or mismatching data set) with every status read.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Transport from 'winston-transport';
import { Client, Dataset, requests, type CStoreResponse } from '../../src/dimse/library.ts';
import { logger } from '../../src/logging.ts';
import { hasCommand } from './env.ts';

export function requireDcmtk(context: Mocha.Context): void {
  if (!hasCommand('storescu') || !hasCommand('echoscu')) {
    console.log('      skipped: dcmtk (echoscu, storescu) is not installed (apt-get install dcmtk)');
    context.skip();
  }
}

export interface ToolRun {
  code: number;
  output: string;
}

/** Run a dcmtk tool without blocking the event loop; never rejects (the exit code is the answer). */
export function runTool(command: string, args: string[], timeoutMs = 120_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export function echoscu(port: number, callingAe: string, calledAe: string): Promise<ToolRun> {
  return runTool('echoscu', ['-aet', callingAe, '-aec', calledAe, '127.0.0.1', String(port)]);
}

/** storescu of files or directories (+sd scans them); `extra` proposes transfer syntaxes (-xv, -xt …). */
export function storescu(port: number, callingAe: string, calledAe: string, paths: string[], extra: string[] = []): Promise<ToolRun> {
  return runTool('storescu', ['-v', '-aet', callingAe, '-aec', calledAe, ...extra, '+sd', '127.0.0.1', String(port), ...paths]);
}

/** Write in-memory files into a fresh directory (only DICOM files: storescu +sd sends everything there). */
export function writeFiles(directory: string, files: Array<{ fileName: string; bytes: Uint8Array }>): string[] {
  mkdirSync(directory, { recursive: true });
  return files.map((file) => {
    const path = join(directory, file.fileName);
    writeFileSync(path, file.bytes);
    return path;
  });
}

export interface ClientRequest {
  path: string;
  /** Replace the data set's bytes on the wire (a corrupt data set). */
  corruptWith?: Buffer;
  /** Announce another SOP class in the command than the data set holds. */
  affectedSopClassUid?: string;
}

export interface ClientResult {
  statuses: Array<number | undefined>;
  rejected: boolean;
}

/**
 * Send over one association with dcmjs-dimse; after `abortAfter` responses, abort (A-ABORT)
 * instead of releasing; `onResponse` sees the running count of responses.
 */
export function sendWithClient(
  port: number,
  callingAe: string,
  calledAe: string,
  items: ClientRequest[],
  abortAfter?: number,
  onResponse?: (answered: number) => void,
): Promise<ClientResult> {
  const client = new Client();
  const statuses: Array<number | undefined> = items.map(() => undefined);
  let answered = 0;
  let rejected = false;
  items.forEach((item, index) => {
    const dataset = Dataset.fromFile(item.path)!;
    if (item.corruptWith) {
      // dcmjs-dimse proposes Implicit VR Little Endian and transcodes to it: claim that syntax so the bytes go out untouched.
      dataset.setTransferSyntaxUid('1.2.840.10008.1.2');
      dataset.getDenaturalizedDataset = () => item.corruptWith!;
    }
    const request = new requests.CStoreRequest(dataset);
    if (item.affectedSopClassUid) request.setAffectedSopClassUid(item.affectedSopClassUid);
    request.on('response', (response: CStoreResponse) => {
      statuses[index] = response.getStatus();
      answered++;
      if (abortAfter !== undefined && answered === abortAfter) client.abort();
      onResponse?.(answered);
    });
    client.addRequest(request);
  });
  return new Promise((resolve) => {
    client.on('associationRejected', () => (rejected = true));
    client.on('networkError', () => undefined);
    client.on('closed', () => resolve({ statuses, rejected }));
    client.send('127.0.0.1', port, callingAe, calledAe, { associationLingerTimeout: 0 });
  });
}

/** Collect the node's log records while a test runs (to check the per-association line). */
export function captureLogs(): { records: Array<Record<string, unknown>>; stop(): void } {
  const records: Array<Record<string, unknown>> = [];
  const transport = new (class extends Transport {
    override log(info: Record<string, unknown>, next: () => void): void {
      records.push(info);
      next();
    }
  })({ level: 'info' });
  const previous = logger.level;
  logger.level = 'info';
  logger.add(transport);
  return {
    records,
    stop() {
      logger.remove(transport);
      logger.level = previous;
    },
  };
}
