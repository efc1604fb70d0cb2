// A one-line progress bar on stderr while a profile window runs. Only on a TTY: piped or captured
// stderr (CI logs, `2> file`) gets nothing, so logs never fill with carriage returns.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export interface Progress {
  /** Redraws for `elapsedS` of the window; cheap to call often (redraws at most every 100 ms). */
  update(elapsedS: number, note?: string): void;
  /** Clears the line; further updates are ignored. */
  done(): void;
}

export interface ProgressOptions {
  totalS: number;
  label?: string;
  stream?: ProgressStream;
  /** Injected clock for tests. */
  now?: () => number;
}

const NOOP: Progress = { update: () => undefined, done: () => undefined };
const REDRAW_MS = 100;

function formatS(s: number): string {
  return s < 60 ? `${s.toFixed(0)}s` : `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return NOOP;
  const now = options.now ?? Date.now;
  const label = options.label ?? 'profiling';
  let lastDraw = -Infinity;
  let finished = false;
  const draw = (elapsedS: number, note: string): void => {
    const columns = Math.max(40, Math.min(stream.columns ?? 80, 100));
    const fraction = options.totalS > 0 ? Math.min(1, Math.max(0, elapsedS / options.totalS)) : 1;
    const tail = ` ${formatS(elapsedS)}/${formatS(options.totalS)}${note ? ` ${note}` : ''}`;
    const barWidth = Math.max(10, columns - label.length - tail.length - 4);
    const filled = Math.round(fraction * barWidth);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${tail}`;
    // \r + erase-line so a shorter redraw leaves no tail of the previous one.
    stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
  };
  return {
    update(elapsedS, note = '') {
      if (finished) return;
      const t = now();
      if (t - lastDraw < REDRAW_MS) return;
      lastDraw = t;
      draw(elapsedS, note);
    },
    done() {
      if (finished) return;
      finished = true;
      stream.write('\r\x1b[2K');
    },
  };
}
