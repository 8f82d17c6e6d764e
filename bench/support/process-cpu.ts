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
