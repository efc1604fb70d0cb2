// OTEL_RESOURCE_ATTRIBUTES: the parser, and a real agent putting the attributes on every
// Prometheus series and every target's OTLP resource, beneath the target's own attributes.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseResourceAttributes } from '../../src/metrics/resourceEnv';
import { parsePrometheus, startAgent } from '../helpers/agent';
import { start, until } from '../helpers/processes';

test('parses key=value pairs, percent-decodes values, discards a malformed list whole', () => {
  assert.deepEqual(parseResourceAttributes('k8s.node.name=node-a, k8s.pod.name = web-1 ,team=a%2Cb%3Dc'), {
    attributes: { 'k8s.node.name': 'node-a', 'k8s.pod.name': 'web-1', team: 'a,b=c' },
  });
  assert.deepEqual(parseResourceAttributes(undefined), { attributes: {} });
  assert.deepEqual(parseResourceAttributes(' '), { attributes: {} });
  assert.deepEqual(parseResourceAttributes('a=1,,b='), { attributes: { a: '1', b: '' } });
  const noEq = parseResourceAttributes('a=1,oops');
  assert.deepEqual(noEq.attributes, {});
  assert.match(noEq.error ?? '', /'oops' is not key=value/);
  assert.deepEqual(parseResourceAttributes('a=%zz').attributes, {});
  assert.deepEqual(parseResourceAttributes('=x').attributes, {});
});

interface OtlpResource {
  resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> };
}

test('a real agent labels every series and every OTLP resource with them; the target keeps its service.name', async () => {
  const bodies: OtlpResource[] = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/metrics') bodies.push(...(JSON.parse(data) as { resourceMetrics: OtlpResource[] }).resourceMetrics);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const target = start(process.execPath, ['-e', 'setInterval(()=>{}, 1000)'], {
    env: { ...process.env, OTEL_SERVICE_NAME: 'svc-env-test' },
  });
  const port = (collector.address() as AddressInfo).port;
  const env = { ...process.env, OTEL_RESOURCE_ATTRIBUTES: 'k8s.node.name=node-a,service.name=not-the-target' };
  const args = ['--pid', String(target.pid), '--interval', '500ms', '--no-attach', '--otlp', `http://127.0.0.1:${port}`];
  const agent = await startAgent(args, env);
  const samples = await until('the target is scraped', async () => {
    const s = parsePrometheus(await agent.scrape()).samples;
    return s.some((x) => x.name === 'process_cpu_time_seconds_total') ? s : undefined;
  });
  for (const s of samples) assert.equal(s.labels.k8s_node_name, 'node-a', `${s.name} carries k8s_node_name`);
  const cpu = samples.find((s) => s.name === 'process_cpu_time_seconds_total')!;
  assert.equal(cpu.labels.service_name, 'svc-env-test', "the target's own service.name wins");
  const resource = await until('the target pushed over OTLP', async () =>
    bodies.find((b) => b.resource.attributes.some((kv) => kv.key === 'process.pid')),
  );
  const attrs = Object.fromEntries(resource.resource.attributes.map((kv) => [kv.key, Object.values(kv.value)[0]]));
  assert.equal(attrs['k8s.node.name'], 'node-a');
  assert.equal(attrs['service.name'], 'svc-env-test');
  assert.equal(Number(attrs['process.pid']), target.pid);
  await agent.stop();
  collector.close();
  target.kill();
});

test('a malformed OTEL_RESOURCE_ATTRIBUTES is one line on stderr and labels nothing', async () => {
  const target = start(process.execPath, ['-e', 'setInterval(()=>{}, 1000)']);
  const agent = await startAgent(['--pid', String(target.pid), '--interval', '500ms', '--no-attach'], {
    ...process.env,
    OTEL_RESOURCE_ATTRIBUTES: 'k8s.node.name=node-a,broken',
  });
  await agent.waitFor(/OTEL_RESOURCE_ATTRIBUTES ignored: 'broken' is not key=value/);
  const samples = await until('the target is scraped', async () => {
    const s = parsePrometheus(await agent.scrape()).samples;
    return s.some((x) => x.name === 'process_cpu_time_seconds_total') ? s : undefined;
  });
  assert.ok(
    samples.every((s) => s.labels.k8s_node_name === undefined),
    'no k8s_node_name label',
  );
  await agent.stop();
  target.kill();
});
