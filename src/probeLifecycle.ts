// One target's probe, as a small state machine: every change of state goes through one method
// here, so the watcher, the profile and the agent's /api/targets read the same story.
//
//   none ─┬─ attaching ──┬─ connected ⇄ disconnected
//         │              ├─ pending (loads when the target next runs code) ─ connected
//         │              └─ failed
//         ├─ pending (preloaded: waiting for its hello) ─ connected
//         └─ unsupported (not Node or Python)
import { EventEmitter } from 'node:events';
import type { HelloMessage } from '../collectors/channel/messages';

export type ProbeState = 'none' | 'attaching' | 'pending' | 'connected' | 'disconnected' | 'failed' | 'unsupported';

/** States a caller waiting for the probe stops waiting at. */
const SETTLED: ReadonlySet<ProbeState> = new Set(['none', 'connected', 'failed', 'unsupported']);

export interface ProbeEvents {
  change: [ProbeState];
}

export class ProbeLifecycle extends EventEmitter<ProbeEvents> {
  private current: ProbeState = 'none';
  private how = 'none';
  private why: string | undefined;
  /** the coded error (src/errors.ts) behind a failed attach, when it has one */
  code: string | undefined;
  hello: HelloMessage | undefined;
  snapshots = 0;
  /** When the last attach began and ended (epoch ms): an injection stops the target for a moment. */
  attachStartedMs: number | undefined;
  attachEndedMs: number | undefined;

  get state(): ProbeState {
    return this.current;
  }

  /** How it got in: 'inspector', 'gdb', 'remote_exec', 'preload', or 'none'. */
  get method(): string {
    return this.how;
  }

  /** One line: why the probe is not there, or what it is waiting for. */
  get message(): string | undefined {
    return this.why;
  }

  private move(state: ProbeState, method: string, message: string | undefined): void {
    if (this.current === 'attaching' && state !== 'attaching') this.attachEndedMs = Date.now();
    this.how = method;
    this.why = message;
    if (state === this.current) return;
    this.current = state;
    this.emit('change', state);
  }

  attaching(): void {
    if (this.current !== 'attaching') {
      this.attachStartedMs = Date.now();
      this.attachEndedMs = undefined;
    }
    this.move('attaching', this.how, undefined);
  }

  /** Injected or preloaded, not yet heard from. */
  pending(method: string, message: string): void {
    this.move('pending', method, message);
  }

  /** Attached, but the attach itself brought no hello yet and no reason to wait for one. */
  attached(method: string, note: string | undefined): void {
    this.move(this.current === 'attaching' ? 'pending' : this.current, method, note);
  }

  connected(hello: HelloMessage): void {
    this.hello = hello;
    this.code = undefined;
    this.move('connected', hello.attach, undefined);
  }

  lost(): void {
    if (this.current === 'connected') this.move('disconnected', this.how, 'probe disconnected; it reconnects with backoff');
  }

  failed(reason: string, code?: string): void {
    this.code = code;
    this.move('failed', this.how, reason);
  }

  unsupported(message: string): void {
    this.move('unsupported', this.how, message);
  }

  /** Something to say while nothing is attached (e.g. a wrapper that may exec a runtime). */
  note(message: string): void {
    this.why = message;
  }

  get isSettled(): boolean {
    return SETTLED.has(this.current);
  }

  /** Resolves with the state once the probe has connected or given up, or after timeoutMs. */
  settled(timeoutMs: number): Promise<ProbeState> {
    if (this.isSettled) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('change', onChange);
        resolve(this.current);
      };
      const onChange = (): void => {
        if (this.isSettled) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.on('change', onChange);
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      state: this.current,
      method: this.how,
      message: this.why ?? null,
      ...(this.code ? { code: this.code } : {}),
      snapshots: this.snapshots,
      probeVersion: this.hello?.probeVersion ?? null,
    };
  }
}
