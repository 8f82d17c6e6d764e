/**
 * A progress bar for long CLI work (a full recompute over 1,000,000 listings takes seconds).
 * On a terminal it redraws one line in place:
 *
 *     [############..................]  40% 100000/250000 variants
 *
 * Anywhere else (a log file, CI, a pipe) carriage returns would pile up into one enormous
 * line, so it prints a plain line each time another 10% is done, and at the end.
 * It writes to stderr by default, so stdout keeps only the report (scriptable).
 */

/** The slice of a stream the bar needs (a fake in tests). */
export interface ProgressStream {
  isTTY?: boolean | undefined;
  write(text: string): unknown;
}

export interface ProgressBar {
  /** Report progress; call it as often as you like, it redraws only on a visible change. */
  update(done: number, total: number): void;
  /** End the bar's line (call once, also after a failure). */
  finish(): void;
}

const barWidth = 30;
const plainStepPercent = 10;

function percentOf(done: number, total: number): number {
  return total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
}

/** `[#####.....]  45% 450000/1000000 variants` */
export function progressLine(done: number, total: number, unit: string): string {
  const percent = percentOf(done, total);
  const filled = Math.round((percent / 100) * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${String(percent).padStart(3)}% ${done}/${total} ${unit}`;
}

/**
 * @param label what is being done, for the plain lines (`recompute: 40% ...`)
 * @param unit what `done` and `total` count
 * @example
 * const bar = progressBar('recompute', 'variants');
 * try { await store.recomputeAll(now, bar.update); } finally { bar.finish(); }
 */
export function progressBar(label: string, unit: string, stream: ProgressStream = process.stderr): ProgressBar {
  const interactive = stream.isTTY === true;
  let drawn = '';
  let nextPlainPercent = 0;
  return {
    update(done, total) {
      if (interactive) {
        const line = progressLine(done, total, unit);
        if (line !== drawn) stream.write(`\r${line}`);
        drawn = line;
        return;
      }
      const percent = percentOf(done, total);
      if (percent < nextPlainPercent) return;
      stream.write(`${label}: ${percent}% ${done}/${total} ${unit}\n`);
      nextPlainPercent =
        percent === 100 ? Number.POSITIVE_INFINITY : (Math.floor(percent / plainStepPercent) + 1) * plainStepPercent;
    },
    finish() {
      if (interactive && drawn !== '') stream.write('\n');
      drawn = '';
    },
  };
}
