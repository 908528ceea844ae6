/**
 * The node's DICOM Storage SCP (a node part: start()/stop(), dependencies passed in). Each
 * connection is one dcmjs-dimse Scp: the association is checked (called AE, calling AE and host,
 * concurrent associations), presentation contexts are negotiated (negotiation.ts), C-ECHO is
 * answered, and each C-STORE data set is kept as received, wrapped as a Part 10 file and handed
 * to `storeInstance` — the same checks, spool (fsync), assembly and queue as a STOW-RS instance —
 * before its status goes back. One log line per association (association-log.ts).
 */
import { statfs } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { CtMuscleError, describeError } from '../errors.ts';
import type { StoreInstance } from '../intake/store-instance.ts';
import { associationLogFields, countStatus, openRecord, type AssociationEnd, type AssociationRecord } from './association-log.ts';
import { DataSetCollector } from './data-set-collector.ts';
import { constants, Dataset, responses, Scp, type CEchoRequest, type CEchoResponse, type CStoreRequest, type CStoreResponse, type DimseAssociation, type DimsePresentationContext } from './library.ts';
import { negotiatePresentationContexts } from './negotiation.ts';
import { part10FromDataSet } from './part10.ts';
import { createPduGuard } from './pdu-guard.ts';
import { judgeCallingAe, normalizeAddress, type KnownAe } from './peers.ts';
import { DIMSE_STATUS, statusForRefusal, statusLabel } from './statuses.ts';

export interface StorageScpSettings {
  aeTitle: string;
  host: string;
  /** 0: any free port (tests). */
  port: number;
  callingAes: KnownAe[];
  maxAssociations: number;
  maxPduBytes: number;
  associationTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  maxInstanceBytes: number;
  /** Refuse instances (A700) while the spool's file system has less free space than this; 0: off. */
  minFreeSpaceMb: number;
  spoolDir: string;
}

/** Where an instance came from: its StoreMeta.from is the calling AE title (for "results back to the sending AE"). */
export interface DimseSender {
  aeTitle: string;
  address: string;
}

export interface ScpMetrics {
  associations: { inc(labels: { outcome: string }): void };
  activeAssociations: { set(value: number): void };
  instances: { inc(labels: { status: string }): void };
}

export interface StorageScpDependencies {
  config: StorageScpSettings;
  storeInstance: StoreInstance;
  logger: Logger;
  metrics?: ScpMetrics;
}

/** A node part (src/node/part.ts's shape; not imported, since src/node imports this folder). */
export interface StorageScp {
  readonly name: string;
  /** Listen (resolves once it does). */
  start(): Promise<void>;
  /** Where it listens once started (the port chosen when dimse.port is 0). */
  address(): { host: string; port: number } | undefined;
  /** Stop listening, let the C-STOREs in progress finish, close every connection. */
  stop(): Promise<void>;
  activeAssociations(): number;
  listening(): boolean;
}

interface Shared {
  deps: StorageScpDependencies;
  accepted: Set<StoreConnection>;
  inFlight: Set<Promise<unknown>>;
}

const { RejectResult, RejectSource, RejectReason, Status } = constants;

/** DIMSE ErrorComment is an LO: at most 64 characters. */
function errorComment(text: string): string {
  return text.replace(/[\\\r\n]/g, ' ').slice(0, 64);
}

class StoreConnection extends Scp {
  readonly record: AssociationRecord;
  private collector: DataSetCollector | undefined;
  private sender: DimseSender | undefined;

  constructor(
    readonly socket: Socket,
    private readonly shared: Shared,
  ) {
    const { associationTimeoutSeconds, idleTimeoutSeconds } = shared.deps.config;
    super(socket, { connectTimeout: idleTimeoutSeconds * 1000, associationTimeout: associationTimeoutSeconds * 1000, pduTimeout: idleTimeoutSeconds * 1000 });
    this.record = openRecord(`${normalizeAddress(socket.remoteAddress)}:${socket.remotePort ?? 0}`);
    // What dcmjs-dimse's own Server sets on a new connection: the timeouts run from now.
    Object.assign(this, { connected: true, connectedTime: Date.now() });
  }

  private reject(reason: string, result: number, source: number, code: number): void {
    this.record.rejected = reason;
    this.shared.deps.metrics?.associations.inc({ outcome: `rejected-${reason}` });
    this.sendAssociationReject(result, source, code);
  }

  override associationRequested(association: DimseAssociation): void {
    const { config, metrics } = this.shared.deps;
    this.record.callingAeTitle = association.getCallingAeTitle().trim();
    this.record.calledAeTitle = association.getCalledAeTitle().trim();
    if (this.record.calledAeTitle !== config.aeTitle) {
      this.reject('called-ae-not-recognized', RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
      return;
    }
    const verdict = judgeCallingAe(config.callingAes, this.record.callingAeTitle, this.socket.remoteAddress);
    if (!verdict.ok) {
      this.reject(verdict.reason, RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
      return;
    }
    if (this.shared.accepted.size >= config.maxAssociations) {
      this.reject('too-many-associations', RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
      return;
    }
    negotiatePresentationContexts(association);
    // Advertise the node's limit; a peer announcing 0 ("no limit") must not make the node advertise none.
    const peerMax = association.getMaxPduLength();
    if (peerMax === 0 || peerMax > config.maxPduBytes) association.setMaxPduLength(config.maxPduBytes);
    this.sender = { aeTitle: this.record.callingAeTitle, address: normalizeAddress(this.socket.remoteAddress) };
    this.shared.accepted.add(this);
    metrics?.associations.inc({ outcome: 'accepted' });
    metrics?.activeAssociations.set(this.shared.accepted.size);
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.record.end = 'released';
    this.sendAssociationReleaseResponse();
  }

  override abort(): void {
    // A-ABORT: the peer is gone; what it stored so far stays (every success was spooled first).
    this.end('aborted');
  }

  override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponse) => void): void {
    this.record.echoes++;
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  override createStoreWritableStream(context: DimsePresentationContext): DataSetCollector {
    this.collector = new DataSetCollector(this.shared.deps.config.maxInstanceBytes, context.getAcceptedTransferSyntaxUid() ?? '');
    return this.collector;
  }

  override createDatasetFromStoreWritableStream(_writable: unknown, _context: DimsePresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
    // The bytes stay in the collector (read in cStoreRequest): parsing them here would re-encode them.
    callback(new Dataset());
  }

  override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponse) => void): void {
    const collector = this.collector;
    this.collector = undefined;
    const started = performance.now();
    const work = storeOne(request, collector, this.sender, this.shared.deps).then(({ status, comment }) => {
      this.record.storeMs += performance.now() - started;
      this.record.bytesReceived += collector?.byteLength ?? 0;
      countStatus(this.record, status);
      this.shared.deps.metrics?.instances.inc({ status: statusLabel(status) });
      const response = responses.CStoreResponse.fromRequest(request);
      response.setStatus(status);
      if (comment) response.setErrorComment(errorComment(comment));
      // The peer may have gone while the instance was stored; it is on disk either way.
      if (!this.socket.destroyed) callback(response);
    });
    this.shared.inFlight.add(work);
    void work.finally(() => this.shared.inFlight.delete(work));
  }

  end(how: AssociationEnd): void {
    this.record.end ??= how;
    this.socket.destroy();
  }
}

async function spoolIsFull(config: StorageScpSettings): Promise<string | null> {
  if (config.minFreeSpaceMb <= 0) return null;
  const stats = await statfs(config.spoolDir);
  const freeMb = (stats.bavail * stats.bsize) / (1024 * 1024);
  return freeMb < config.minFreeSpaceMb ? `spool has ${Math.floor(freeMb)} MB free, below ${config.minFreeSpaceMb} MB` : null;
}

/** One C-STORE: never throws; the status and comment to answer. */
async function storeOne(request: CStoreRequest, collector: DataSetCollector | undefined, sender: DimseSender | undefined, deps: StorageScpDependencies): Promise<{ status: number; comment?: string }> {
  const sopClassUid = request.getAffectedSopClassUid().replace(/\0/g, '').trim();
  const sopInstanceUid = request.getAffectedSopInstanceUid().replace(/\0/g, '').trim();
  try {
    if (!collector) return { status: DIMSE_STATUS.cannotUnderstand, comment: 'C-STORE without a data set' };
    if (collector.overLimit) return { status: DIMSE_STATUS.outOfResources, comment: `instance over ${deps.config.maxInstanceBytes} bytes` };
    const full = await spoolIsFull(deps.config);
    if (full) return { status: DIMSE_STATUS.outOfResources, comment: full };
    const bytes = part10FromDataSet(collector.bytes(), { sopClassUid, sopInstanceUid, transferSyntaxUid: collector.transferSyntaxUid, sourceAeTitle: sender?.aeTitle });
    const result = await deps.storeInstance(bytes, {
      via: 'dimse',
      from: sender?.aeTitle,
      label: `C-STORE from ${sender?.aeTitle ?? '?'}`,
      expectedSopClassUid: sopClassUid,
      expectedSopInstanceUid: sopInstanceUid,
    });
    if (result.status === 'stored') return { status: DIMSE_STATUS.success };
    deps.logger.warn('C-STORE refused', { callingAeTitle: sender?.aeTitle, reason: result.reason, code: result.code, sopInstanceUid });
    return { status: statusForRefusal(result.reason), comment: result.message };
  } catch (error) {
    const { code, message } = describeError(error);
    deps.logger.error('C-STORE failed', { callingAeTitle: sender?.aeTitle, code, message, sopInstanceUid });
    return { status: code === 'E_IO' ? DIMSE_STATUS.outOfResources : DIMSE_STATUS.processingFailure, comment: `${code}: ${message}` };
  }
}

function attach(socket: Socket, shared: Shared): StoreConnection {
  const { config, logger, metrics } = shared.deps;
  const guard = createPduGuard(config.maxPduBytes);
  const connection = new StoreConnection(socket, shared);
  socket.on('data', (chunk: Buffer) => {
    const problem = guard.inspect(chunk);
    if (problem) {
      logger.warn('DICOM association dropped', { peer: connection.record.peer, callingAeTitle: connection.record.callingAeTitle, message: problem });
      connection.end('pdu-too-large');
    }
  });
  connection.on('networkError', (error: Error) => connection.end(/timeout/i.test(error.message) ? 'timed-out' : 'closed'));
  socket.once('close', () => {
    shared.accepted.delete(connection);
    metrics?.activeAssociations.set(shared.accepted.size);
    logger.info('DICOM association', associationLogFields(connection.record));
  });
  return connection;
}

export function createStorageScp(deps: StorageScpDependencies): StorageScp {
  const shared: Shared = { deps, accepted: new Set(), inFlight: new Set() };
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let bound: { host: string; port: number } | undefined;
  return {
    name: 'dimse-storage-scp',
    async start() {
      const listening = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => undefined); // reported through the connection's networkError
        attach(socket, shared);
      });
      // Connections that never associate still hold a socket: bound them too.
      listening.maxConnections = deps.config.maxAssociations * 2 + 4;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', (error) => reject(new CtMuscleError('E_IO', `Cannot listen for DICOM on ${deps.config.host}:${deps.config.port}: ${error.message}`)));
        listening.listen(deps.config.port, deps.config.host, () => resolve());
      });
      server = listening;
      const address = listening.address() as AddressInfo;
      bound = { host: address.address, port: address.port };
      deps.logger.info('DICOM storage SCP listening', { aeTitle: deps.config.aeTitle, ...bound });
    },
    async stop() {
      const closed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
      await Promise.allSettled([...shared.inFlight]);
      for (const socket of sockets) socket.destroy();
      await closed;
      server = undefined;
    },
    address: () => bound,
    activeAssociations: () => shared.accepted.size,
    listening: () => server?.listening === true,
  };
}
