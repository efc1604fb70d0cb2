// One timer for the whole agent drives every target's thread-state sampling, so the cost of
// the hot path is one wake-up per tick rather than one per target.
export interface ThreadSampled {
  sampleThreads(): void;
}

export class SamplerHub {
  private readonly members = new Set<ThreadSampled>();
  private timer: NodeJS.Timeout | undefined;
  ticks = 0;

  constructor(readonly hz: number) {}

  add(member: ThreadSampled): void {
    this.members.add(member);
    if (!this.timer && this.hz > 0) {
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.round(1000 / this.hz)));
      this.timer.unref();
    }
  }

  delete(member: ThreadSampled): void {
    this.members.delete(member);
    if (this.members.size === 0) this.stop();
  }

  private tick(): void {
    this.ticks++;
    for (const member of this.members) {
      try {
        member.sampleThreads();
      } catch {
        // a sampler that throws must not stop the others; its collector reports its own state
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
