// The Kubernetes manifests and the Dockerfile give the agent what it needs: the targets' pids
// (shareProcessNamespace or hostPID), ptrace rights (uid 0, SYS_PTRACE), a scrapable port that is
// the one the agent serves, and a command line the real CLI accepts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseResourceAttributes } from '../../src/metrics/resourceEnv';
import { ROOT, rtprof, startAgent } from '../helpers/agent';
import { start, until } from '../helpers/processes';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  securityContext?: { runAsUser?: number; capabilities?: { add?: string[] } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  shareProcessNamespace?: boolean;
  hostPID?: boolean;
  tolerations?: unknown[];
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: unknown }>;
}
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } };
}

const DIR = join(ROOT, 'deploy/kubernetes');

function load(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
    assert.equal(doc.errors.length, 0, `${file}: ${doc.errors.join('; ')}`);
    return doc.toJS() as Manifest;
  });
}

const workloads = (file: string): Manifest[] => load(file).filter((m) => m.kind === 'Deployment' || m.kind === 'DaemonSet');
const agentOf = (m: Manifest): Container => {
  const c = m.spec.template.spec.containers.find((x) => /(^|\/)rtprof:/.test(x.image));
  assert.ok(c, `${m.metadata.name} has an rtprof container`);
  return c;
};

/** The value after a flag in an argument list, or the default. */
function flag(args: string[], name: string, fallback?: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? fallback : args[at + 1];
}

/** The Dockerfile's JSON-form instruction (ENTRYPOINT, CMD) of the last stage. */
function dockerfileArray(instruction: string): string[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n');
  const line = lines.filter((l) => l.startsWith(`${instruction} `)).at(-1);
  assert.ok(line, `the Dockerfile has ${instruction}`);
  return JSON.parse(line.slice(instruction.length + 1)) as string[];
}

test('every manifest parses; the agent sees the pids, runs as root with SYS_PTRACE, serves on 0.0.0.0', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  assert.deepEqual(files.sort(), ['daemonset.yaml', 'sidecar.yaml']);
  for (const file of files) {
    for (const m of workloads(file)) {
      const pod = m.spec.template.spec;
      assert.ok(pod.shareProcessNamespace === true || pod.hostPID === true, `${file}: shareProcessNamespace or hostPID`);
      const agent = agentOf(m);
      assert.equal(agent.image, 'rtprof:latest', `${file}: the image the Dockerfile builds`);
      assert.equal(agent.command, undefined, `${file}: the image's ENTRYPOINT runs (args only)`);
      assert.equal(agent.securityContext?.runAsUser, 0, `${file}: runAsUser 0`);
      assert.ok(agent.securityContext?.capabilities?.add?.includes('SYS_PTRACE'), `${file}: SYS_PTRACE`);
      const args = agent.args ?? [];
      assert.equal(args[0], 'agent');
      assert.ok(args.includes('--discover') && flag(args, '--match'), `${file}: --discover --match (pids are not known in advance)`);
      assert.equal(flag(args, '--host'), '0.0.0.0', `${file}: reachable by the scraper`);
      // A sidecar shares its pod's network namespace with a non-root app: the inspector window is
      // open only to the pod's own containers, so it opts in; the DaemonSet keeps the default.
      assert.equal(flag(args, '--inspector-attach'), file === 'sidecar.yaml' ? 'any' : undefined, `${file}: --inspector-attach`);
      assert.ok(agent.resources?.requests?.memory && agent.resources?.limits?.memory, `${file}: memory request and limit`);
    }
  }
});

test('the container port, the readiness probe and the scrape annotation are the agent --port', () => {
  for (const file of ['sidecar.yaml', 'daemonset.yaml']) {
    for (const m of workloads(file)) {
      const agent = agentOf(m);
      const port = Number(flag(agent.args ?? [], '--port', '9464'));
      const named = agent.ports?.find((p) => p.name === 'metrics');
      assert.equal(named?.containerPort, port, `${file}: containerPort 'metrics' = --port ${port}`);
      const probe = agent.readinessProbe?.httpGet;
      assert.equal(probe?.path, '/healthz', `${file}: readiness on /healthz`);
      assert.ok(probe?.port === 'metrics' || probe?.port === port, `${file}: readiness probe port`);
      assert.equal(m.spec.template.metadata.annotations?.['prometheus.io/port'], String(port), `${file}: scrape annotation`);
    }
  }
});

test('the sidecar: the app container has a writable /tmp (emptyDir) for the probe files', () => {
  const [m] = workloads('sidecar.yaml');
  const pod = m!.spec.template.spec;
  assert.equal(pod.shareProcessNamespace, true);
  const app = pod.containers.find((c) => c.name !== agentOf(m!).name)!;
  const tmp = app.volumeMounts?.find((v) => v.mountPath === '/tmp');
  assert.ok(tmp, 'the app mounts a volume on /tmp');
  assert.ok(pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir !== undefined, 'that volume is an emptyDir');
});

test('the DaemonSet: hostPID in a namespace labelled for the privileged Pod Security level, tolerating every taint', () => {
  const docs = load('daemonset.yaml');
  const [ds] = workloads('daemonset.yaml');
  assert.equal(ds!.spec.template.spec.hostPID, true);
  const ns = docs.find((d) => d.kind === 'Namespace' && d.metadata.name === ds!.metadata.namespace);
  assert.equal(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  assert.ok(
    ds!.spec.template.spec.tolerations?.some((t) => (t as { operator?: string }).operator === 'Exists'),
    'tolerates every taint',
  );
});

test('OTEL_RESOURCE_ATTRIBUTES in the manifests: downward-API variables defined before use, a list the agent accepts', () => {
  const wanted: Record<string, string[]> = {
    'sidecar.yaml': ['k8s.pod.name', 'k8s.pod.uid', 'k8s.namespace.name'],
    'daemonset.yaml': ['k8s.node.name'],
  };
  for (const [file, keys] of Object.entries(wanted)) {
    const env = agentOf(workloads(file)[0]!).env ?? [];
    const defined = new Map<string, string>();
    for (const v of env) {
      // Kubernetes expands $(NAME) from variables listed earlier; a downward-API value stands in here.
      const value = (v.value ?? `value-of-${v.name}`).replace(/\$\(([A-Z0-9_]+)\)/g, (_, name: string) => {
        assert.ok(defined.has(name), `${file}: $(${name}) is defined before ${v.name}`);
        return defined.get(name)!;
      });
      defined.set(v.name, value);
    }
    const parsed = parseResourceAttributes(defined.get('OTEL_RESOURCE_ATTRIBUTES'));
    assert.equal(parsed.error, undefined, `${file}: ${parsed.error}`);
    for (const key of keys) assert.ok(parsed.attributes[key], `${file}: OTEL_RESOURCE_ATTRIBUTES has ${key}`);
  }
});

test('the real CLI accepts the Dockerfile CMD and every manifest args (--help after them parses every flag)', async () => {
  assert.deepEqual(dockerfileArray('ENTRYPOINT'), ['rtprof']);
  assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /ln -s \/opt\/rtprof\/bin\/rtprof\.js \/usr\/local\/bin\/rtprof/);
  const commands = [dockerfileArray('CMD'), ...['sidecar.yaml', 'daemonset.yaml'].map((f) => agentOf(workloads(f)[0]!).args ?? [])];
  for (const args of commands) {
    const p = rtprof([...args, '--help']);
    const { code } = await p.exited;
    assert.equal(code, 0, `rtprof ${args.join(' ')} --help: ${p.stderr()}`);
    assert.match(p.stdout(), /^rtprof agent/);
  }
  const bad = rtprof(['agent', '--discover', '--no-such-flag', '--help']);
  assert.equal((await bad.exited).code, 2, 'an unknown flag is a usage error even with --help');
});

test("the sidecar's --match finds the app by its OTEL_SERVICE_NAME and nothing else; /healthz answers", async () => {
  const [m] = workloads('sidecar.yaml');
  const pod = m!.spec.template.spec;
  const agentArgs = agentOf(m!).args!;
  const app = pod.containers.find((c) => c.name !== agentOf(m!).name)!;
  const serviceName = app.env?.find((v) => v.name === 'OTEL_SERVICE_NAME')?.value;
  assert.ok(serviceName, 'the app container sets OTEL_SERVICE_NAME');
  const script = 'setInterval(()=>{},100);console.log("ready")';
  const target = start(process.execPath, ['-e', script], { env: { ...process.env, OTEL_SERVICE_NAME: serviceName } });
  const other = start(process.execPath, ['-e', script], { env: { ...process.env, OTEL_SERVICE_NAME: `${serviceName}-other` } });
  await Promise.all([target.waitFor(/ready/), other.waitFor(/ready/)]);
  // The manifest's own flags; only where it serves changes (loopback, a free port).
  const args = agentArgs.slice(1).filter((_, i, a) => !['--host', '--port'].includes(a[i]!) && !['--host', '--port'].includes(a[i - 1]!));
  const agent = await startAgent([...args, '--host', '127.0.0.1', '--no-attach']);
  const pids = await until('the app is discovered', async () => {
    const list = (await (await agent.get('/api/targets')).json()) as Array<{ pid: number }>;
    return list.some((t) => t.pid === target.pid) ? list.map((t) => t.pid) : undefined;
  });
  assert.deepEqual(pids, [target.pid], 'only the app matches');
  assert.equal((await agent.get('/healthz')).status, 200);
  await agent.stop();
  target.kill();
  other.kill();
});
