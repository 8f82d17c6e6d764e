import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system) a process has used so far, in ms, from `/proc/<pid>/stat` (Linux;
 * clock ticks of 10 ms); null when it cannot be read (another OS, or the process is gone). On a
 * machine shared with other work, a server's CPU per request is steadier than requests per second.
 */
export function processCpuMs(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * CPU time the whole machine has been busy so far (every core, every process: user, nice,
 * system, irq, softirq, steal), in ms, from the first line of `/proc/stat`; null when it cannot
 * be read. Divided by the work done between two readings it is the machine's CPU per unit of
 * work, whoever spent it (the server, the database, the load generator).
 */
export function machineCpuMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 10;
  } catch {
    return null;
  }
}
