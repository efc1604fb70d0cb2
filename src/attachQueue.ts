// When probes get injected: Node attaches run one at a time (SIGUSR1 opens the inspector on a port
// shared by every process of a network namespace), CPython attaches (gdb, remote_exec) side by
// side up to a bound, so a gunicorn or uvicorn tree is probed in about the time of one attach.
import type { Target } from './target';

/** CPython attaches running at once, at most: each is a gdb (or helper interpreter) process. */
const PYTHON_ATTACH_PARALLEL = 4;

export class AttachQueue {
  private node: Promise<void> = Promise.resolve();
  private pythonRunning = 0;
  private readonly pythonWaiting: Target[] = [];

  /** `run` attaches to one target; it must not throw (a failure is the target's state). */
  constructor(private readonly run: (target: Target) => Promise<void>) {}

  add(target: Target): void {
    if (target.identity.runtime === 'cpython') {
      this.pythonWaiting.push(target);
      this.drainPython();
      return;
    }
    this.node = this.node.then(() => this.run(target)).catch(() => undefined);
  }

  private drainPython(): void {
    while (this.pythonRunning < PYTHON_ATTACH_PARALLEL && this.pythonWaiting.length > 0) {
      const target = this.pythonWaiting.shift()!;
      this.pythonRunning++;
      this.run(target)
        .catch(() => undefined)
        .finally(() => {
          this.pythonRunning--;
          this.drainPython();
        });
    }
  }
}
