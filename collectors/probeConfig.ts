// The settings a probe starts with, in the two forms the probes read: RTPROF_* environment
// variables when preloaded, the object given to start(config) when injected (docs/PROTOCOL.md).
import type { AttachMethod } from './channel/messages';

/** What the agent tells a probe, whichever way it gets in. */
export interface ProbeSettings {
  /** the agent's channel socket, as the target sees it */
  socketPath: string;
  /** the token the agent issued for this target */
  token: string;
  intervalMs: number;
  /** false: the probe does not hook the target's HTTP servers (the agent's default unless `--http`); absent: true */
  http?: boolean;
  /** false: the probe does not watch GC pauses (`--no-gc-pauses`: no GC callback in the target); absent: true */
  gc?: boolean;
  /** How long the probe keeps trying to reach this agent before it leaves it (back to the agent it
   * was taken over from, or stops for good); the probe's default is 10 minutes. Injected only:
   * there is no environment variable for it. */
  giveUpMs?: number;
}

type StartConfig = Record<string, string | number | boolean>;

/** A Python injection's config: it always names its attach marker. */
export type PythonProbeConfig = ProbeConfig & { readonly attachMarker: string };

export class ProbeConfig {
  private constructor(
    private readonly settings: ProbeSettings,
    readonly attach: AttachMethod,
    /** Python injection only: the file the probe deletes once connected (its loader's errors go beside it) */
    readonly attachMarker?: string,
  ) {}

  /** Preloaded at launch, into Node or Python (whichever the command starts): read from the environment. */
  static preload(settings: ProbeSettings): ProbeConfig {
    return new ProbeConfig(settings, 'preload');
  }

  /** Started in a running Node through its inspector. */
  static inspector(settings: ProbeSettings): ProbeConfig {
    return new ProbeConfig(settings, 'inspector');
  }

  /** Started in a running CPython; the marker as the target sees it. */
  static python(settings: ProbeSettings, method: 'gdb' | 'remote_exec', attachMarker: string): PythonProbeConfig {
    return new ProbeConfig(settings, method, attachMarker) as PythonProbeConfig;
  }

  /** The RTPROF_* variables both probes read when preloaded (they remove them from their environment). */
  toEnv(): Record<string, string> {
    const s = this.settings;
    return {
      RTPROF_SOCKET: s.socketPath,
      RTPROF_TOKEN: s.token,
      RTPROF_INTERVAL_MS: String(s.intervalMs),
      RTPROF_ATTACH: this.attach,
      ...(s.http === false ? { RTPROF_HTTP: '0' } : {}),
      ...(s.gc === false ? { RTPROF_GC: '0' } : {}),
    };
  }

  /** The object start(config) takes: the Node probe counts its give-up time in ms, the Python probe in s. */
  toJSON(): StartConfig {
    const s = this.settings;
    const python = this.attachMarker !== undefined;
    const giveUp: StartConfig = {};
    if (s.giveUpMs !== undefined) {
      if (python) giveUp.giveUpS = s.giveUpMs / 1000;
      else giveUp.giveUpMs = s.giveUpMs;
    }
    return {
      socket: s.socketPath,
      token: s.token,
      intervalMs: s.intervalMs,
      attach: this.attach,
      ...(this.attachMarker !== undefined ? { attachMarker: this.attachMarker } : {}),
      ...(s.http === false ? { http: false } : {}),
      ...(s.gc === false ? { gc: false } : {}),
      ...giveUp,
    };
  }
}
