/**
 * Several `nelm serve` processes on one PostgreSQL database behind a real HAProxy (Debian's
 * `haproxy`), for the cluster test (test/e2e/cluster.e2e.test.ts) and benchmark (bench/cluster):
 * the processes on fixed free ports of 127.0.0.1, HAProxy in the foreground (`-db`) with the
 * configuration of docs/operations.md ("Several processes behind HAProxy") written to a temp
 * folder, and its stats socket to ask which servers it sees up. `restart` is one step of a rolling
 * restart: SIGTERM, the exit awaited, the same port started again, and HAProxy seeing it up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.js';

export const HAPROXY = '/usr/sbin/haproxy';

export interface ClusterOptions {
  /** How many `nelm serve` processes. */
  processes: number;
  /** The node arguments that run `nelm` (before `serve`): the built `bin/nelm.js`, or the sources through tsx. */
  command: string[];
  /** The processes' environment (the database, the admin client, NELM_*); PORT and HOST are set here. */
  env: Record<string, string>;
  /** Where the processes' output goes: inherited, or dropped (default). */
  output?: 'inherit' | 'ignore';
  /** A process's start, readiness included, at most (default 60 s). */
  startMs?: number;
}

/** The milliseconds HAProxy waits between two health checks of a server. */
export const CHECK_INTERVAL_MS = 250;

/**
 * The HAProxy configuration for `ports`, listening on `listen`. Only what is safe is retried: a
 * connection that could not be made (nothing was sent) for every method, on another server
 * (`option redispatch`); a connection closed without an answer only for the methods that may be
 * repeated (GET, HEAD, OPTIONS, PUT, DELETE), never a POST or a PATCH, which the server may have
 * applied before its connection closed.
 */
export function haproxyConfig(listen: number, ports: readonly number[], statsSocket: string): string {
  return `global
    maxconn 4096
    stats socket ${statsSocket} mode 600 level admin

defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 130s
    timeout server 130s
    timeout check 2s
    timeout queue 10s
    retries 3
    option redispatch
    retry-on conn-failure empty-response

frontend api
    bind 127.0.0.1:${listen}
    option forwardfor
    default_backend nelm

backend nelm
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    acl replayable method GET HEAD OPTIONS PUT DELETE
    http-request disable-l7-retry unless replayable
    default-server check inter ${CHECK_INTERVAL_MS}ms fall 2 rise 1
${ports.map((port, i) => `    server nelm${i + 1} 127.0.0.1:${port}`).join('\n')}
`;
}

interface Member {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export class Cluster {
  private constructor(
    readonly url: string,
    private readonly dir: string,
    private readonly haproxy: ChildProcess,
    private readonly members: Member[],
    private readonly options: ClusterOptions,
  ) {}

  /** Starts the processes at once, then HAProxy, and waits until HAProxy sees every one up. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-cluster-'));
    const ports = await Promise.all(Array.from({ length: options.processes }, () => freePort()));
    const members = ports.map((port) => launch(port, options));
    const listen = await freePort();
    const socket = path.join(dir, 'haproxy.sock');
    const config = path.join(dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(listen, ports, socket));
    const haproxy = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'ignore', options.output ?? 'ignore'] });
    const cluster = new Cluster(`http://127.0.0.1:${listen}`, dir, haproxy, members, options);
    try {
      await Promise.all(members.map((member, i) => cluster.untilUp(i, member)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get size(): number {
    return this.members.length;
  }

  /** Process ids, in server order. */
  get pids(): number[] {
    return this.members.map((m) => m.child.pid!);
  }

  /** What HAProxy says of each server (`UP`, `DOWN`, …), from its stats socket. */
  async states(): Promise<string[]> {
    const csv = await ask(path.join(this.dir, 'haproxy.sock'), 'show stat');
    const lines = csv.split('\n');
    const columns = lines[0]!.replace(/^# /, '').split(',');
    const [px, sv, status] = ['pxname', 'svname', 'status'].map((name) => columns.indexOf(name));
    const byName = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      if (cells[px!] === 'nelm') byName.set(cells[sv!]!, cells[status!]!);
    }
    return this.members.map((_, i) => byName.get(`nelm${i + 1}`) ?? 'unknown');
  }

  /**
   * One step of a rolling restart: SIGTERM to process `i`, its exit awaited, then a new process
   * on the same port, until HAProxy sees it up. Returns the exit code, and the milliseconds from
   * the SIGTERM to the exit (`downMs`) and to the successor up (`upMs`).
   */
  async restart(i: number): Promise<{ exitCode: number | null; downMs: number; upMs: number }> {
    const member = this.members[i]!;
    const began = Date.now();
    member.child.kill('SIGTERM');
    const exitCode = await member.exited;
    const downMs = Date.now() - began;
    const next = launch(member.port, this.options);
    this.members[i] = next;
    await this.untilUp(i, next);
    return { exitCode, downMs, upMs: Date.now() - began };
  }

  /** Stops HAProxy and every process (SIGTERM, then SIGKILL after 15 s), and removes the temp folder. */
  async stop(): Promise<void> {
    await Promise.all([...this.members.map((m) => end(m.child)), end(this.haproxy)]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Waits until process `i` answers its own readiness probe, then until HAProxy sees it up. The
   * probe comes first because HAProxy counts a server up from its start until its first check
   * fails: its word alone would pass a process that is not listening yet.
   */
  private async untilUp(i: number, member: Member): Promise<void> {
    const deadline = Date.now() + (this.options.startMs ?? 60_000);
    let ready = false;
    for (;;) {
      if (member.child.exitCode !== null || member.child.signalCode !== null) throw new Error(`nelm${i + 1} exited while starting`);
      if (this.haproxy.exitCode !== null) throw new Error('haproxy exited');
      if (!ready) ready = await answersReady(member.port);
      const states = ready ? await this.states().catch(() => [] as string[]) : [];
      if (states[i]?.startsWith('UP')) return;
      if (Date.now() > deadline) {
        const within = `within ${this.options.startMs ?? 60_000} ms`;
        throw new Error(ready ? `HAProxy did not see nelm${i + 1} up ${within} (${states[i]})` : `nelm${i + 1} did not answer ready ${within}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function launch(port: number, options: ClusterOptions): Member {
  const child = spawn(process.execPath, [...options.command, 'serve'], {
    env: { ...process.env, ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', options.output ?? 'ignore', options.output ?? 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { port, child, exited };
}

/** Whether the process on `port` answers its readiness probe with a 200. */
async function answersReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

function end(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Sends one command to HAProxy's stats socket; its answer. */
function ask(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.once('error', reject);
    socket.once('end', () => resolve(answer));
    socket.write(`${command}\n`);
  });
}
