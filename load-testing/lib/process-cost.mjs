// What each process spent on a run: CPU time (user + system, from
// /proc/<pid>/stat) and peak resident memory (VmHWM in /proc/<pid>/status,
// reset before the run through /proc/<pid>/clear_refs). CPU time per request
// explains what bounds the system and moves less than req/s on a shared machine.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;

/** User plus system CPU time in clock ticks, from a /proc/<pid>/stat line (its command may hold spaces or ")"). */
export function parseCpuTicks(statLine) {
  // After the command in parentheses: state is field 3, utime field 14 and stime field 15.
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The process's CPU time so far in ms, or undefined once it has gone. */
export function cpuTimeMs(pid) {
  try {
    return (parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Peak resident set size in MB since start or the last reset, or undefined once the process has gone. */
export function peakRssMb(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts peak RSS afresh ("5" resets VmHWM, Linux 4.0+); only a process of the same user can be reset. */
function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not ours or gone: its peak then covers its whole life.
  }
}

/**
 * Starts measuring `groups`: each `{ name, pids(), partOfSystem, per, newProcessesCount }`, where `pids`
 * resolves the group's processes now (a service: its one process if running; PostgreSQL: the backends
 * on the run's database). A process that started during the run counts only where `newProcessesCount`
 * (backends opened by a pool); a service restarted meanwhile would otherwise charge its start-up.
 * `update()` reads every process now, so that one stopped later keeps what it had spent; `finish()`
 * reads once more and returns one row per group with a process counted.
 */
export async function startSample(groups) {
  const before = [];
  const latest = [];
  for (const group of groups) {
    const pids = await group.pids();
    for (const pid of pids) resetPeakRss(pid);
    before.push(new Map(pids.map((pid) => [pid, cpuTimeMs(pid)])));
    latest.push(new Map());
  }
  async function update() {
    for (const [g, group] of groups.entries()) {
      for (const pid of await group.pids()) {
        if (!before[g].has(pid) && !group.newProcessesCount) continue;
        const cpuMs = cpuTimeMs(pid);
        if (cpuMs !== undefined) latest[g].set(pid, { cpuMs, peakRssMb: peakRssMb(pid) });
      }
    }
  }
  return {
    update,
    async finish() {
      await update();
      return groups.flatMap((group, g) => {
        const readings = [...latest[g]];
        if (readings.length === 0) return [];
        const cpuMs = readings.reduce((sum, [pid, reading]) => sum + reading.cpuMs - (before[g].get(pid) ?? 0), 0);
        const peaks = readings.map(([, reading]) => reading.peakRssMb).filter((mb) => mb !== undefined);
        return [
          {
            name: group.name,
            partOfSystem: group.partOfSystem,
            per: group.per ?? 'request',
            processes: readings.length,
            cpuMs: Math.round(cpuMs),
            // Backends share PostgreSQL's buffers: their resident sizes say little and are not ours to reset.
            peakRssMb: group.newProcessesCount || peaks.length === 0 ? undefined : Math.max(...peaks),
          },
        ];
      });
    },
  };
}

/** Adds CPU µs per request (or per event, for rows measured per event) to `rows`. */
export function perUnitCost(rows, { requests, events }) {
  return rows.map((row) => {
    const units = row.per === 'event' ? events : requests;
    return { ...row, cpuUsPerUnit: units > 0 ? Math.round((row.cpuMs * 1000) / units) : undefined };
  });
}
