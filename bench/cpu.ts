import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { CpuUsage } from './results-schema';

/**
 * CPU accounting from /proc (Linux): where the machine's CPU went during a measured window, so a
 * row can say what one request cost the server, PostgreSQL and the load generator, and how busy the
 * rest of the machine (other people's work) was meanwhile.
 */

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export const cpuAccountingAvailable = (() => {
  try {
    readFileSync('/proc/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
})();

/** The fields of /proc/<pid>/stat after "pid (comm) ". */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of one process, in ms; null when it is gone or /proc is unavailable. */
function processCpuMs(pid: number): number | null {
  try {
    const fields = statFields(pid);
    // After "pid (comm) ", field 3 (state) is index 0; utime (14) and stime (15) are 11 and 12.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** The process and its descendants (an API_PROCESSES primary and its workers), by ppid from /proc. */
function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // After "pid (comm) ", field 4 (ppid) is index 1.
      parentOf.set(Number(entry), Number(statFields(Number(entry))[1]));
    } catch {
      // the process went away
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** Sum of a per-process reading over a process tree; null when the root is gone. */
function treeSum(root: number, read: (pid: number) => number | null): number | null {
  const first = read(root);
  if (first === null) return null;
  return processTree(root)
    .slice(1)
    .reduce((sum, pid) => sum + (read(pid) ?? 0), first);
}

/** Write syscalls a process has made (write, writev...): one per HTTP response or SQL statement sent. */
function writeSyscalls(pid: number): number | null {
  try {
    const m = /^syscw:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU (ms) of each PostgreSQL backend connected to `database`, by pid. */
function postgresCpuMs(database: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.startsWith('postgres: ') || !cmdline.includes(` ${database} `)) continue;
      const ms = processCpuMs(Number(entry));
      if (ms !== null) out.set(Number(entry), ms);
    } catch {
      // the process went away
    }
  }
  return out;
}

/**
 * CPU the backends spent between two snapshots: a backend that appeared meanwhile counts in full, one
 * that exited is lost (so this can undercount, never go negative).
 */
function postgresDelta(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of b) total += Math.max(0, ms - (a.get(pid) ?? 0));
  return total;
}

/**
 * CPU of the PostgreSQL processes that exited between two snapshots, spent after the first. The
 * postmaster's reaped-children total grows by the whole lifetime of each, so what `a` already saw of
 * a backend that has gone by `b` is taken off: a pool that closes idle connections would otherwise
 * charge their every request again to whatever row is running when they close. Two rare cases stay
 * approximate: a backend gone from the /proc scan but not yet reaped (the postmaster reaps within
 * milliseconds) is taken off before its CPU is added, and a pid reused within one row is taken for
 * the same process.
 */
function exitedSince(a: CpuSnapshot, b: CpuSnapshot): number {
  if (a.postgresExited === null || b.postgresExited === null) return 0;
  let seenBefore = 0;
  for (const [pid, ms] of a.postgres) if (!b.postgres.has(pid)) seenBefore += ms;
  return Math.max(0, b.postgresExited - a.postgresExited - seenBefore);
}

/**
 * The postmaster's reaped children's CPU (cutime + cstime), in ms: what its processes that have
 * exited used. Parallel workers ("parallel worker for PID n": no database in their name) live for
 * one query, so no snapshot of the backends sees them; they show up here once reaped. So do
 * autovacuum workers and backends that exited, of any database. The postmaster is found as the
 * parent of one of the database's backends; null when there is none.
 */
function postmasterChildrenMs(backends: Map<number, number>): number | null {
  for (const pid of backends.keys()) {
    try {
      const fields = statFields(pid);
      // After "pid (comm) ", ppid (field 4) is index 1; cutime (16) and cstime (17) are 13 and 14.
      const parent = statFields(Number(fields[1]));
      return ((Number(parent[13]) + Number(parent[14])) * 1000) / CLK_TCK;
    } catch {
      // that backend went away: try the next
    }
  }
  return null;
}

/** Busy time of the whole machine (all cores, everything but idle and iowait), in ms. */
function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // user nice system idle iowait irq softirq steal ...
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] ?? 0);
  return (busy * 1000) / CLK_TCK;
}

export interface CpuSnapshot {
  at: number;
  server: number | null;
  serverWrites: number | null;
  postgres: Map<number, number>;
  /** postmasterChildrenMs at the snapshot. */
  postgresExited: number | null;
  loadgen: number | null;
  self: number;
  machine: number;
}

export interface CpuSources {
  serverPid: number | undefined;
  loadgenPid: number | undefined;
  database: string;
}

export function cpuSnapshot(src: CpuSources): CpuSnapshot | null {
  if (!cpuAccountingAvailable) return null;
  const self = process.cpuUsage();
  const postgres = postgresCpuMs(src.database);
  return {
    at: performance.now(),
    server: src.serverPid === undefined ? null : treeSum(src.serverPid, processCpuMs),
    serverWrites: src.serverPid === undefined ? null : treeSum(src.serverPid, writeSyscalls),
    postgres,
    postgresExited: postmasterChildrenMs(postgres),
    loadgen: src.loadgenPid === undefined ? null : processCpuMs(src.loadgenPid),
    self: (self.user + self.system) / 1000,
    machine: machineBusyMs(),
  };
}

/** Per-request CPU (microseconds) between two snapshots, and the cores everything else kept busy. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, requests: number): CpuUsage {
  const per = (x: number | null, y: number | null): number | null =>
    x === null || y === null || requests === 0 ? null : Math.round(((y - x) * 1000) / requests);
  const wall = b.at - a.at;
  const postgres = postgresDelta(a.postgres, b.postgres) + exitedSince(a, b);
  const ours =
    (b.server ?? 0) -
    (a.server ?? 0) +
    postgres +
    ((b.loadgen ?? 0) - (a.loadgen ?? 0)) +
    (b.self - a.self);
  const other = Math.max(0, b.machine - a.machine - ours);
  return {
    serverUsPerRequest: per(a.server, b.server),
    serverWritesPerRequest:
      a.serverWrites === null || b.serverWrites === null || requests === 0
        ? null
        : Math.round(((b.serverWrites - a.serverWrites) / requests) * 100) / 100,
    postgresUsPerRequest: requests ? Math.round((postgres * 1000) / requests) : null,
    loadgenUsPerRequest: per(a.loadgen, b.loadgen),
    otherCores: wall > 0 ? Math.round((other / wall) * 100) / 100 : 0,
  };
}
