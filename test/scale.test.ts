/**
 * Beyond one process: one intake and two workers (`ct-muscle-node serve --role intake|worker`,
 * real child processes through the CLI, real level finder and segmenter) share the queue and a
 * spool folder; 100 small phantom studies arrive by STOW-RS; the workers write back to a real
 * Orthanc. During the load a worker is killed with SIGKILL at a dozen moments (and restarted
 * each time), some of them while a write-back job is running; on PostgreSQL the server is also
 * restarted. Each study must end with exactly one SEG and one SR in Orthanc, none dead-lettered.
 *
 * The queue backend is a parameter: PostgreSQL (what several machines use: 100 studies, the
 * server restarted midway) and SQLite shared by processes of one machine (a shorter load).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { WRITE_BACK } from '../src/node/jobs.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { loadConfig } from '../src/config.ts';
import type { JobId, JobQueue } from '../src/queue/job-queue.ts';
import { openJobQueue } from '../src/queue/open.ts';
import { makeTempDir } from './support/env.ts';
import { freeLoopbackPort, type OrthancHandle, outputsInOrthanc, requireOrthanc, startOrthanc } from './support/orthanc.ts';
import { type PostgresHandle, requirePostgres, startPostgres } from './support/postgres.ts';
import { kill9, startServe, stopServe, type ServeProcess } from './support/serve-process.ts';

type QueueBackend = 'sqlite' | 'postgres';
const QUEUE_BACKENDS: QueueBackend[] = ['postgres', 'sqlite'];

/** Per backend: the PostgreSQL load restarts the server midway; SQLite (one machine only) runs a shorter load. */
const LOAD: Record<QueueBackend, { studies: number; kills: number }> = { postgres: { studies: 100, kills: 12 }, sqlite: { studies: 30, kills: 10 } };
const LEASE_SECONDS = 5;
/** Kills timed to land while a write-back job runs (kill number k). */
const WRITE_BACK_KILLS = [3, 7];

/** What the test reads of the shared queue (the same rows `ct-muscle-node jobs` prints). */
type QueueView = Pick<JobQueue, 'list' | 'close'>;

function queueSection(backend: QueueBackend, dir: string, postgresUrl: string | undefined): Record<string, unknown> {
  return backend === 'postgres' ? { backend, url: postgresUrl } : { backend, path: join(dir, 'jobs.sqlite') };
}

/** One configuration file per role: everything shared (spool, outputs, queue) but the listening port. */
function writeConfigs(dir: string, queue: Record<string, unknown>, orthanc: OrthancHandle, intakePort: number): { intake: string; worker: string } {
  const common = {
    logLevel: 'warn',
    spoolDir: join(dir, 'spool'),
    output: { dir: join(dir, 'out'), overlay: false },
    queue: { ...queue, baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: 50, leaseSeconds: LEASE_SECONDS },
    assembly: { quietPeriodSeconds: 0.5 },
    writeBack: { destination: { url: orthanc.dicomWebRoot }, deadlineHours: 1 },
  };
  const intake = join(dir, 'intake.json');
  const worker = join(dir, 'worker.json');
  writeFileSync(intake, JSON.stringify({ ...common, server: { port: intakePort } }));
  writeFileSync(worker, JSON.stringify({ ...common, server: { port: 0 } }));
  return { intake, worker };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Studies whose write-back has finished (a study may have several write-back jobs; one done is enough). */
async function writtenBack(view: QueueView): Promise<Set<string>> {
  return new Set((await view.list('done')).filter((j) => j.kind === WRITE_BACK && (j.result as { stored?: string[] } | null)?.stored).map((j) => j.key));
}

/** Send the load: small phantoms (96², L2–T11, 5 mm: 20 slices, measurable), four studies at a time, retrying a refused push like a PACS. */
async function sendStudies(intakeUrl: string, count: number): Promise<string[]> {
  const uids: string[] = [];
  let next = 1;
  const sender = async () => {
    while (next <= count) {
      const seed = next++;
      const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 5, seed });
      const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
      for (let attempt = 0; ; attempt += 1) {
        const outcome = await stowInstances({ url: `${intakeUrl}/dicomweb` }, instances).catch((error: Error) => ({ stored: [], error }));
        if (outcome.stored.length === instances.length) break;
        if (attempt >= 40) throw new Error(`study ${seed} was not stored: ${JSON.stringify(outcome).slice(0, 300)}`);
        await sleep(500);
      }
      uids.push(study.truth.studyInstanceUid);
    }
  };
  await Promise.all([sender(), sender(), sender(), sender()]);
  return uids;
}

describe('scale: one intake and two workers (serve --role) on a shared queue and spool', function () {
  this.timeout(400_000);
  before(function () {
    requireOrthanc(this);
  });

  for (const backend of QUEUE_BACKENDS) {
    const { studies, kills } = LOAD[backend];
    const restartsPostgres = backend === 'postgres';
    describe(`queue on ${backend}`, () => {
      let tmp: ReturnType<typeof makeTempDir>;
      let orthanc: OrthancHandle | undefined;
      let postgres: PostgresHandle | undefined;
      let view: QueueView | undefined;
      const processes: ServeProcess[] = [];

      before(async function () {
        if (backend !== 'postgres') return;
        requirePostgres(this);
        postgres = await startPostgres();
      });
      after(async () => postgres?.stop());
      beforeEach(async () => {
        tmp = makeTempDir('ctmn-scale-');
        orthanc = await startOrthanc();
      });
      afterEach(async () => {
        await Promise.all(processes.splice(0).map((p) => kill9(p)));
        await view?.close();
        view = undefined;
        await orthanc?.stop();
        tmp.remove();
      });

      const what = `${studies} studies by STOW-RS, a worker killed -9 at ${kills} moments (restarted each time), some mid-write-back${restartsPostgres ? ', PostgreSQL restarted midway' : ''}: each study ends with exactly one SEG and one SR`;
      it(what, async () => {
        const url = postgres ? await postgres.createDatabase(`scale_${process.pid}`) : undefined;
        const configs = writeConfigs(tmp.path, queueSection(backend, tmp.path, url), orthanc!, await freeLoopbackPort());
        const intake = await startServe('intake', configs.intake);
        const workers = await Promise.all([startServe('worker', configs.worker), startServe('worker', configs.worker)]);
        processes.push(intake, ...workers);
        view = await openJobQueue(loadConfig({ file: configs.intake, env: {} }));

        const midway = restartsPostgres ? () => postgres!.restart({ mode: 'fast', downMs: 2000 }) : undefined;
        const chaos = new Chaos(workers, processes, configs.worker, view, { kills, midway });
        const started = Date.now();
        const killing = chaos.run(studies);
        const uids = await sendStudies(intake.url, studies);
        const sent = Date.now();
        await killing;
        await waitForAll(view, uids, () => processes.map((p) => `--- ${p.role}\n${p.output()}`).join('\n'));
        console.log(`      ${backend}: ${uids.length} studies sent in ${((sent - started) / 1000).toFixed(0)} s, all written back after ${((Date.now() - started) / 1000).toFixed(0)} s; ${chaos.kills} kills, ${chaos.interruptedWriteBacks.length} during a write-back${midway ? ', PostgreSQL restarted once' : ''}`);

        assert.ok(chaos.kills >= 10, `only ${chaos.kills} kills`);
        assert.ok(chaos.interruptedWriteBacks.length >= 1, 'no kill landed while a write-back job was running');
        const jobs = await view.list();
        for (const id of chaos.interruptedWriteBacks) {
          const job = jobs.find((j) => j.id === id)!;
          assert.ok(job.state === 'done' && job.attempts >= 2, `interrupted write-back job ${id} should have been taken again and finished: ${JSON.stringify(job)}`);
        }
        assert.deepEqual(await view.list('dead'), [], 'no job is dead-lettered');
        const wrong: string[] = [];
        for (const uid of uids) {
          const found = await outputsInOrthanc(orthanc!, uid);
          if (found.seg !== 1 || found.sr !== 1) wrong.push(`${uid}: ${found.seg} SEG, ${found.sr} SR`);
        }
        assert.deepEqual(wrong, [], `every study must have exactly one SEG and one SR in Orthanc`);
        await Promise.all(processes.splice(0).map((p) => stopServe(p)));
      });
    });
  }
});

/** Waits until every study is written back and nothing is pending or running. */
async function waitForAll(view: QueueView, uids: string[], logs: () => string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = await writtenBack(view);
    const busy = (await view.list('pending')).length + (await view.list('running')).length;
    if (busy === 0 && uids.every((uid) => done.has(uid))) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${done.size}/${uids.length} written back, ${busy} jobs pending or running\n${logs().slice(-6000)}`);
    await sleep(250);
  }
}

/**
 * Kills workers during the load: kill k (1..kills) when k/(kills+1) of the jobs are done, after a
 * random 0–500 ms, of a random worker that is up; its replacement starts in the background (the
 * load goes on meanwhile). The kills in WRITE_BACK_KILLS wait for a running write-back job, freeze
 * the workers (SIGSTOP), check the job is still running, and kill them: that job was interrupted
 * by a kill for certain. `midway` (a PostgreSQL restart) runs once, halfway through.
 */
class Chaos {
  kills = 0;
  readonly interruptedWriteBacks: JobId[] = [];
  private readonly restarts = new Set<Promise<void>>();
  private readonly up: boolean[];

  constructor(
    private readonly workers: ServeProcess[],
    private readonly all: ServeProcess[],
    private readonly configPath: string,
    private readonly view: QueueView,
    private readonly plan: { kills: number; midway?: () => Promise<void> },
  ) {
    this.up = workers.map(() => true);
  }

  /** Jobs done so far, while the queue answers (it does not while PostgreSQL restarts). */
  private async done(): Promise<number> {
    return (await this.view.list('done').catch(() => [])).length;
  }

  async run(studies: number): Promise<void> {
    const { kills, midway } = this.plan;
    for (let k = 1; k <= kills; k += 1) {
      const target = Math.ceil((k * 2 * studies) / (kills + 1));
      while ((await this.done()) < target) await sleep(100);
      await sleep(Math.random() * 500);
      if (midway && k === Math.ceil(kills / 2)) await midway();
      if (WRITE_BACK_KILLS.includes(k) && (await this.killDuringWriteBack())) continue;
      await this.replace(await this.anyUp());
    }
    await Promise.all([...this.restarts]);
  }

  private async anyUp(): Promise<number> {
    for (;;) {
      const upNow = this.up.flatMap((isUp, i) => (isUp ? [i] : []));
      if (upNow.length > 0) return upNow[Math.floor(Math.random() * upNow.length)];
      await sleep(100);
    }
  }

  /** kill -9 now; the replacement starts in the background. */
  private async replace(index: number): Promise<void> {
    this.up[index] = false;
    await kill9(this.workers[index]);
    this.kills += 1;
    const restart = this.startSupervised().then((fresh) => {
      this.all.push(fresh);
      this.workers[index] = fresh;
      this.up[index] = true;
    });
    this.restarts.add(restart);
  }

  /**
   * Start a worker as a supervisor (systemd Restart=on-failure) would: a worker refuses to start
   * while the queue database is unreachable (PostgreSQL restarting) and is started again.
   */
  private async startSupervised(): Promise<ServeProcess> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await startServe('worker', this.configPath);
      } catch (error) {
        if (attempt >= 10 || !/E_QUEUE_UNREACHABLE/.test(String(error))) throw error;
        await sleep(1000);
      }
    }
  }

  private async runningWriteBack(): Promise<{ id: JobId; attempts: number } | undefined> {
    return (await this.view.list('running')).find((j) => j.kind === WRITE_BACK);
  }

  private async killDuringWriteBack(): Promise<boolean> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      // Only with every worker up: then the running job is one of theirs (a starting worker may already claim jobs).
      const running = this.up.every(Boolean) ? await this.runningWriteBack() : undefined;
      if (!running) {
        await sleep(5);
        continue;
      }
      for (const w of this.workers) w.child.kill('SIGSTOP');
      // Still running with the same attempt while every worker is frozen: the kill interrupts it.
      const still = (await this.view.list('running')).some((j) => j.id === running.id && j.attempts === running.attempts);
      if (!still) {
        for (const w of this.workers) w.child.kill('SIGCONT');
        continue;
      }
      this.interruptedWriteBacks.push(running.id);
      await Promise.all(this.workers.map((_, i) => this.replace(i)));
      return true;
    }
    return false;
  }
}
