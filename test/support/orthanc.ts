/**
 * A throwaway Orthanc for integration tests: a plain child process on a free loopback port with
 * its own temporary storage, the DICOMweb plugin only (the GDCM plugin crashed in tests), no
 * DICOM port unless asked for (`dicom`: the DIMSE tests), no remote access. `start` waits until /system answers; `stop` (and process exit)
 * kill it and remove its files, so nothing is left behind.
 *
 * The STOW/QIDO/WADO helpers speak plain DICOMweb with Node's fetch and are meant to be reused
 * against any PACS. Orthanc answers 200 to a STOW and silently skips parts it does not accept,
 * so a STOW is only checked by finding every sent SOP Instance UID in 00081199.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipartRelated } from '../../src/dicomweb/client/multipart.ts';
import { killOnExit, skipFor } from './env.ts';

export const ORTHANC_BINARY = process.env.ORTHANC_BIN ?? '/usr/sbin/Orthanc';

const PLUGIN_CANDIDATES = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/lib/orthanc/libOrthancDicomWeb.so'];

/** The DICOMweb plugin: ORTHANC_DICOMWEB_PLUGIN, a known Debian path, or whatever dpkg lists. */
export function findDicomWebPlugin(): string | null {
  const fromEnv = process.env.ORTHANC_DICOMWEB_PLUGIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const path of PLUGIN_CANDIDATES) if (existsSync(path)) return path;
  const listed = spawnSync('dpkg', ['-L', 'orthanc-dicomweb'], { encoding: 'utf8' });
  const found = (listed.stdout ?? '').split('\n').find((l) => /libOrthancDicomWeb\.so/.test(l) && existsSync(l.trim()));
  return found ? found.trim() : null;
}

/** Why Orthanc cannot run here, or null when it can. */
export function orthancUnavailableReason(): string | null {
  if (!existsSync(ORTHANC_BINARY)) return `${ORTHANC_BINARY} not found (apt-get install orthanc orthanc-dicomweb)`;
  if (!findDicomWebPlugin()) return 'the Orthanc DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)';
  return null;
}

/** Skip the current suite (or test) with the reason when Orthanc cannot run here. */
export function requireOrthanc(context: Mocha.Context): void {
  skipFor(context, orthancUnavailableReason());
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface OrthancHandle {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** http://127.0.0.1:PORT/dicom-web */
  dicomWebRoot: string;
  port: number;
  process: ChildProcess;
  /** Orthanc's DICOM port, when started with `dicom`. */
  dicomPort?: number;
  /** The last lines Orthanc logged (for failure messages). */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for /system (ms). */
  timeoutMs?: number;
  /** Other DICOMweb servers Orthanc knows (name → URL), e.g. the node, for /dicom-web/servers/{name}/stow. */
  dicomWebServers?: Record<string, string>;
  /** A Lua script (e.g. OnStableStudy) loaded at start. */
  lua?: string;
  /** Listen on this port (e.g. to restart "the same" PACS); a free one otherwise. */
  port?: number;
  /** More configuration merged over the test defaults (objects key by key), e.g. a documented fragment. */
  extraConfig?: Record<string, unknown>;
  /** Turn on Orthanc's DICOM server (off otherwise) with this AE title, on a free port, knowing these modalities (name → [AE, host, port]). */
  dicom?: { aeTitle: string; modalities?: Record<string, [string, string, number]> };
}


export async function startOrthanc(options: StartOptions = {}): Promise<OrthancHandle> {
  const reason = orthancUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-orthanc-'));
  const port = options.port ?? (await freeLoopbackPort());
  const config = {
    Name: 'ctmn-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'storage'),
    HttpPort: port,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: false,
    Plugins: [findDicomWebPlugin()],
    HttpCompressionEnabled: false,
    SaveJobs: false,
    StableAge: 1,
    LimitFindResults: 0,
    LimitFindInstances: 0,
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Ssl: false, StudiesMetadata: 'Full', SeriesMetadata: 'Full' },
  };
  // Orthanc reads each server as [url, user?, password?]; a bare string is "bad file format".
  if (options.dicomWebServers) Object.assign(config.DicomWeb, { Servers: Object.fromEntries(Object.entries(options.dicomWebServers).map(([name, url]) => [name, [url]])) });
  const dicomPort = options.dicom ? await freeLoopbackPort() : undefined;
  if (options.dicom) {
    Object.assign(config, { DicomServerEnabled: true, DicomAet: options.dicom.aeTitle, DicomPort: dicomPort, DicomModalities: options.dicom.modalities ?? {} });
  }
  if (options.lua) {
    const luaPath = join(dir, 'script.lua');
    writeFileSync(luaPath, options.lua);
    Object.assign(config, { LuaScripts: [luaPath] });
  }
  for (const [key, value] of Object.entries(options.extraConfig ?? {})) {
    const current = (config as Record<string, unknown>)[key];
    const both = [current, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    (config as Record<string, unknown>)[key] = both ? { ...(current as object), ...(value as object) } : value;
  }
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const logPath = join(dir, 'orthanc.log');
  const log = openSync(logPath, 'a');
  const child = spawn(ORTHANC_BINARY, [configPath], { stdio: ['ignore', log, log], cwd: dir });
  closeSync(log);
  const forget = killOnExit(child);

  const baseUrl = `http://127.0.0.1:${port}`;
  const logTail = (lines = 40) => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    forget();
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.timeoutMs ?? 30000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logTail();
      await stop();
      throw new Error(`Orthanc exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${tail}`);
    }
    try {
      const response = await fetch(`${baseUrl}/system`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) {
        await response.arrayBuffer();
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new Error(`Orthanc did not answer /system within ${options.timeoutMs ?? 30000} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { baseUrl, dicomWebRoot: `${baseUrl}/dicom-web`, port, dicomPort, process: child, logTail, stop };
}

// ---------------------------------------------------------------------------------------------
// DICOMweb helpers

export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export interface StowPart {
  bytes: Uint8Array;
  /** Content-Type of the part; application/dicom unless a test wants a wrong one. */
  contentType?: string;
}

export interface StowResult {
  status: number;
  /** SOP Instance UIDs listed in ReferencedSOPSequence (0008,1199). */
  stored: string[];
  /** SOP Instance UIDs listed in FailedSOPSequence (0008,1198). */
  failed: string[];
  body: DicomJson | null;
}

function stringValues(element: { Value?: unknown[] } | undefined): string[] {
  return (element?.Value ?? []).filter((v): v is string => typeof v === 'string');
}

function sopUidsIn(body: DicomJson | null, tag: string): string[] {
  const items = (body?.[tag]?.Value ?? []) as DicomJson[];
  return items.flatMap((item) => stringValues(item['00081155']));
}

export { multipartRelated };

export async function stow(dicomWebRoot: string, parts: StowPart[], studyInstanceUid?: string): Promise<StowResult> {
  const { body, contentType } = multipartRelated(parts);
  const url = studyInstanceUid ? `${dicomWebRoot}/studies/${studyInstanceUid}` : `${dicomWebRoot}/studies`;
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType, Accept: 'application/dicom+json' }, body });
  const text = await response.text();
  let json: DicomJson | null;
  try {
    json = text ? (JSON.parse(text) as DicomJson) : null;
  } catch {
    json = null;
  }
  return { status: response.status, stored: sopUidsIn(json, '00081199'), failed: sopUidsIn(json, '00081198'), body: json };
}

/** The UIDs that were sent but are not confirmed stored: a STOW succeeded only if this is empty. */
export function unconfirmed(result: StowResult, sentSopInstanceUids: string[]): string[] {
  const stored = new Set(result.stored);
  return sentSopInstanceUids.filter((uid) => !stored.has(uid));
}

export async function qido(dicomWebRoot: string, path: string, params: Record<string, string> = {}): Promise<DicomJson[]> {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(`${dicomWebRoot}/${path}${query ? `?${query}` : ''}`, { headers: { Accept: 'application/dicom+json' } });
  if (response.status === 204) return [];
  if (!response.ok) throw new Error(`QIDO ${path} answered ${response.status}: ${await response.text()}`);
  const text = await response.text();
  return text ? (JSON.parse(text) as DicomJson[]) : [];
}

export function firstString(dataset: DicomJson, tag: string): string | undefined {
  return stringValues(dataset[tag])[0];
}

/** Split a multipart/related response into its part bodies. */
export function splitMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!match) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${match[1]}`);
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const parts: Uint8Array[] = [];
  let start = buffer.indexOf(delimiter);
  while (start >= 0) {
    const afterDelimiter = start + delimiter.length;
    if (buffer.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const headerEnd = buffer.indexOf('\r\n\r\n', afterDelimiter);
    const next = buffer.indexOf(delimiter, headerEnd);
    if (headerEnd < 0 || next < 0) break;
    // The part ends with CRLF before the next delimiter.
    parts.push(new Uint8Array(buffer.subarray(headerEnd + 4, next - 2)));
    start = next;
  }
  return parts;
}

/** WADO-RS retrieve of one instance as Part 10 bytes. */
export async function wadoInstance(dicomWebRoot: string, study: string, series: string, instance: string): Promise<Uint8Array> {
  const response = await fetch(`${dicomWebRoot}/studies/${study}/series/${series}/instances/${instance}`, {
    headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
  });
  if (!response.ok) throw new Error(`WADO-RS answered ${response.status}`);
  const parts = splitMultipart(new Uint8Array(await response.arrayBuffer()), response.headers.get('content-type') ?? '');
  if (parts.length !== 1) throw new Error(`WADO-RS returned ${parts.length} parts; expected 1`);
  return parts[0];
}

/** How many SEG and SR instances Orthanc holds for a study (0 and 0 when it holds none of it). */
export async function outputsInOrthanc(orthanc: Pick<OrthancHandle, 'dicomWebRoot'>, studyUid: string): Promise<{ seg: number; sr: number }> {
  const series = await qido(orthanc.dicomWebRoot, `studies/${studyUid}/series`).catch(() => []);
  let seg = 0;
  let sr = 0;
  for (const s of series) {
    const modality = firstString(s, '00080060');
    if (modality !== 'SEG' && modality !== 'SR') continue;
    const instances = await qido(orthanc.dicomWebRoot, `studies/${studyUid}/series/${firstString(s, '0020000E')}/instances`);
    if (modality === 'SEG') seg += instances.length;
    else sr += instances.length;
  }
  return { seg, sr };
}
