/**
 * A throwaway PostgreSQL for tests: Debian's server binaries run as a plain child process, with
 * `initdb` in a temporary folder, a free loopback port, trust authentication for 127.0.0.1 and the
 * unix socket only (which lives in the temporary folder, not /var/run), nothing else listening.
 * `stop` (and process exit) kill it and remove its files; `restart` stops it (fast, or like a
 * crash) and starts it again on the same port and data, for the "PostgreSQL restarted" tests.
 *
 * PostgreSQL refuses to run as root: when the tests run as root (CI, .ci/run) the folder is given
 * to the `postgres` system user (from the Debian package) and the server runs as that user.
 * fsync is off: the data only has to outlive the server process (which restarts and kill -9 test),
 * never the machine; commits stay synchronous, so a crashed server loses no acknowledged write.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { forgetChild, killOnExit, skipFor } from './env.ts';
import { freeLoopbackPort } from './orthanc.ts';

/** The server binaries: PG_BIN, or the newest /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(): string | null {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'postgres')) ? fromEnv : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

/** The user the server runs as: none when the tests are not root; `postgres` when they are. */
function serverUser(): { uid: number; gid: number } | null | 'missing' {
  if (userInfo().uid !== 0) return null;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return 'missing';
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why PostgreSQL cannot run here, or null when it can. */
export function postgresUnavailableReason(): string | null {
  if (!findPostgresBin()) return 'PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BIN)';
  if (serverUser() === 'missing') return 'running as root, and there is no `postgres` user to run the server as (apt-get install postgresql creates it)';
  return null;
}

/** Skip the current suite (or test) with the reason when PostgreSQL cannot run here. */
export function requirePostgres(context: Mocha.Context): void {
  skipFor(context, postgresUnavailableReason());
}

export interface PostgresHandle {
  /** postgres://postgres@127.0.0.1:PORT/postgres (the superuser, trust auth: no password). */
  url: string;
  host: '127.0.0.1';
  port: number;
  /** The folder holding the unix socket (connect with host=<socketDir>). */
  socketDir: string;
  /** The server process now running (changes on restart). */
  process(): ChildProcess;
  /** A fresh, empty database; its URL. */
  createDatabase(name: string): Promise<string>;
  /** The URL of another database on this server. */
  urlOf(database: string): string;
  /**
   * Stop the server and start it again on the same port and data. `fast`: a clean shutdown
   * (clients are disconnected); `crash`: an immediate shutdown (SIGQUIT: every backend quits at
   * once, no checkpoint), so the next start replays the WAL as after a crash.
   * `downMs`: how long it stays down in between.
   */
  restart(options?: { mode?: 'fast' | 'crash'; downMs?: number }): Promise<void>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}


const HBA = ['# Trust on loopback and the private socket only: a test server, nothing else reaches it.', 'local all all trust', 'host all all 127.0.0.1/32 trust', ''].join('\n');

function initDataDir(bin: string, dataDir: string, user: { uid: number; gid: number } | null): void {
  const result = spawnSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    encoding: 'utf8',
    ...(user ?? {}),
  });
  if (result.status !== 0) throw new Error(`initdb failed (${result.status}): ${result.stderr || result.stdout || result.error?.message}`);
  writeFileSync(join(dataDir, 'pg_hba.conf'), HBA);
}

async function waitReady(bin: string, port: number, child: ChildProcess, logTail: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`PostgreSQL exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${logTail()}`);
    const ready = spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-t', '1'], { encoding: 'utf8' });
    if (ready.status === 0) return;
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms:\n${logTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  forgetChild(child);
}

export async function startPostgres(options: { timeoutMs?: number } = {}): Promise<PostgresHandle> {
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(reason);
  const bin = findPostgresBin()!;
  const user = serverUser() as { uid: number; gid: number } | null;
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-postgres-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  const logPath = join(dir, 'postgres.log');
  initDataDir(bin, dataDir, user);
  const port = await freeLoopbackPort();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const logTail = (lines = 40) => (existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)');

  const launch = async (): Promise<ChildProcess> => {
    const log = openSync(logPath, 'a');
    if (user) chownSync(logPath, user.uid, user.gid);
    const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'max_connections=200'];
    const child = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', log, log], cwd: dir, ...(user ?? {}) });
    closeSync(log);
    killOnExit(child);
    try {
      await waitReady(bin, port, child, logTail, timeoutMs);
    } catch (error) {
      await stopChild(child, 'SIGKILL');
      throw error;
    }
    return child;
  };

  let child: ChildProcess;
  try {
    child = await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    url: urlOf('postgres'),
    host: '127.0.0.1',
    port,
    socketDir: dir,
    process: () => child,
    urlOf,
    async createDatabase(name) {
      const made = spawnSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`createdb ${name} failed: ${made.stderr}`);
      return urlOf(name);
    },
    async restart({ mode = 'fast', downMs = 0 } = {}) {
      // SIGINT is PostgreSQL's "fast" shutdown, SIGQUIT its "immediate" one (crash recovery at the
      // next start). Not SIGKILL: orphaned backends would keep the shared memory and block the restart.
      await stopChild(child, mode === 'crash' ? 'SIGQUIT' : 'SIGINT');
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      child = await launch();
    },
    logTail,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
