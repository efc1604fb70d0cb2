// Host facts for a profile (the numbers mean little without the machine they came from), from
// systeminformation. Only one-shot commands use it: loading it costs the agent ~10 MB of RSS.
import type { HostInfo } from '../report';

export async function hostInfo(): Promise<HostInfo | null> {
  try {
    const si = require('systeminformation') as typeof import('systeminformation');
    // Bounded: host facts are read after the window, and a report must never wait on them.
    const facts = Promise.all([si.cpu(), si.mem(), si.osInfo()]);
    const late = new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000).unref());
    const got = await Promise.race([facts, late]);
    if (!got) return null;
    const [cpu, mem, os] = got;
    return {
      cores: cpu.cores,
      cpuModel: `${cpu.manufacturer} ${cpu.brand}`.trim(),
      memTotalBytes: mem.total,
      os: `${os.distro} ${os.release}`.trim(),
      kernel: os.kernel,
    };
  } catch {
    return null; // host facts are context, never a reason to fail a profile
  }
}
