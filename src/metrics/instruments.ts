// The one place where rtprof's metric names, units and descriptions are defined. Names follow the
// OpenTelemetry semantic conventions where one exists; rtprof.* only where none does.
import {
  METRIC_CONTAINER_CPU_TIME,
  METRIC_CONTAINER_MEMORY_USAGE,
  METRIC_CONTAINER_MEMORY_WORKING_SET,
  METRIC_CPYTHON_GC_COLLECTED_OBJECTS,
  METRIC_K8S_CONTAINER_CPU_LIMIT_CURRENT,
  METRIC_K8S_CONTAINER_MEMORY_LIMIT_CURRENT,
  METRIC_CPYTHON_GC_COLLECTIONS,
  METRIC_CPYTHON_GC_UNCOLLECTABLE_OBJECTS,
  METRIC_NODEJS_EVENTLOOP_DELAY_MAX,
  METRIC_NODEJS_EVENTLOOP_DELAY_MEAN,
  METRIC_NODEJS_EVENTLOOP_DELAY_MIN,
  METRIC_NODEJS_EVENTLOOP_DELAY_P50,
  METRIC_NODEJS_EVENTLOOP_DELAY_P90,
  METRIC_NODEJS_EVENTLOOP_DELAY_P99,
  METRIC_NODEJS_EVENTLOOP_TIME,
  METRIC_NODEJS_EVENTLOOP_UTILIZATION,
  METRIC_PROCESS_CONTEXT_SWITCHES,
  METRIC_PROCESS_CPU_TIME,
  METRIC_PROCESS_CPU_UTILIZATION,
  METRIC_PROCESS_DISK_IO,
  METRIC_PROCESS_MEMORY_USAGE,
  METRIC_PROCESS_MEMORY_VIRTUAL,
  METRIC_PROCESS_PAGING_FAULTS,
  METRIC_PROCESS_THREAD_COUNT,
  METRIC_PROCESS_UNIX_FILE_DESCRIPTOR_COUNT,
  METRIC_PROCESS_UPTIME,
  METRIC_V8JS_GC_DURATION,
  METRIC_V8JS_MEMORY_HEAP_SPACE_AVAILABLE_SIZE,
  METRIC_V8JS_MEMORY_HEAP_SPACE_PHYSICAL_SIZE,
  METRIC_V8JS_MEMORY_HEAP_SPACE_SIZE,
  METRIC_V8JS_MEMORY_HEAP_USED,
  METRIC_V8JS_RESOURCE_ACTIVE,
} from './semconv';

export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

export interface InstrumentSpec {
  name: string;
  kind: InstrumentKind;
  unit: string;
  description: string;
}

function spec(name: string, kind: InstrumentKind, unit: string, description: string): InstrumentSpec {
  return { name, kind, unit, description };
}

/** /proc layer: any process, no injection. */
export const PROC = {
  cpuTime: spec(METRIC_PROCESS_CPU_TIME, 'counter', 's', 'Total CPU seconds broken down by mode'),
  cpuUtilization: spec(
    METRIC_PROCESS_CPU_UTILIZATION,
    'gauge',
    '1',
    'CPU time over the last interval divided by elapsed time and number of CPUs',
  ),
  memoryUsage: spec(METRIC_PROCESS_MEMORY_USAGE, 'updowncounter', 'By', 'Resident set size'),
  memoryVirtual: spec(METRIC_PROCESS_MEMORY_VIRTUAL, 'updowncounter', 'By', 'Virtual memory size'),
  threadCount: spec(METRIC_PROCESS_THREAD_COUNT, 'updowncounter', '{thread}', 'Process threads count'),
  contextSwitches: spec(METRIC_PROCESS_CONTEXT_SWITCHES, 'counter', '{context_switch}', 'Context switches by type'),
  diskIo: spec(METRIC_PROCESS_DISK_IO, 'counter', 'By', 'Bytes read from and written to storage'),
  fdCount: spec(METRIC_PROCESS_UNIX_FILE_DESCRIPTOR_COUNT, 'updowncounter', '{file_descriptor}', 'Open file descriptors'),
  pagingFaults: spec(METRIC_PROCESS_PAGING_FAULTS, 'counter', '{fault}', 'Page faults by type'),
  uptime: spec(METRIC_PROCESS_UPTIME, 'gauge', 's', 'Time since the process started'),
  threadTime: spec(
    'rtprof.thread.time',
    'counter',
    's',
    'Main thread wall time by state (cpu, runqueue, io, lock, sleep, other); rate() sums to 1',
  ),
  otherThreadsTime: spec(
    'rtprof.threads.time',
    'counter',
    's',
    'Wall time of the other threads (all but the main one) by state, summed; rate() sums to their number',
  ),
  targetInfo: spec('rtprof.target.info', 'gauge', '{target}', 'Always 1: a watched target and how it is watched'),
};

/**
 * The target's cgroup (any process in a limited or identified cgroup). The k8s.container.*.limit.current
 * names are the semantic conventions' "actual resources" of a container: the cgroup's limit is exactly
 * that, whether or not Kubernetes set it. Throttling has no convention yet, hence rtprof.*.
 */
export const CONTAINER = {
  cpuTime: spec(METRIC_CONTAINER_CPU_TIME, 'counter', 's', 'CPU seconds used by the cgroup (all its processes)'),
  cpuLimit: spec(METRIC_K8S_CONTAINER_CPU_LIMIT_CURRENT, 'updowncounter', '{cpu}', 'CPU limit of the cgroup in cores (quota / period)'),
  memoryLimit: spec(METRIC_K8S_CONTAINER_MEMORY_LIMIT_CURRENT, 'updowncounter', 'By', 'Memory limit of the cgroup'),
  memoryUsage: spec(METRIC_CONTAINER_MEMORY_USAGE, 'updowncounter', 'By', 'Memory charged to the cgroup, page cache included'),
  memoryWorkingSet: spec(METRIC_CONTAINER_MEMORY_WORKING_SET, 'updowncounter', 'By', 'Memory usage minus inactive file pages'),
  throttledTime: spec(
    'rtprof.container.cpu.throttled.time',
    'counter',
    's',
    'Time the cgroup was throttled by its CPU limit, summed over the CPUs whose queues were throttled',
  ),
  periods: spec('rtprof.container.cpu.periods', 'counter', '{period}', 'CPU bandwidth periods in which the cgroup ran'),
  throttledPeriods: spec(
    'rtprof.container.cpu.throttled.periods',
    'counter',
    '{period}',
    'CPU bandwidth periods in which the cgroup hit its limit',
  ),
};

/** Node probe layer. */
export const NODE = {
  delay: {
    min: spec(METRIC_NODEJS_EVENTLOOP_DELAY_MIN, 'gauge', 's', 'Event loop minimum delay (excess over the sampling resolution)'),
    max: spec(METRIC_NODEJS_EVENTLOOP_DELAY_MAX, 'gauge', 's', 'Event loop maximum delay (excess over the sampling resolution)'),
    mean: spec(METRIC_NODEJS_EVENTLOOP_DELAY_MEAN, 'gauge', 's', 'Event loop mean delay (excess over the sampling resolution)'),
    p50: spec(METRIC_NODEJS_EVENTLOOP_DELAY_P50, 'gauge', 's', 'Event loop 50th percentile delay (excess over the sampling resolution)'),
    p90: spec(METRIC_NODEJS_EVENTLOOP_DELAY_P90, 'gauge', 's', 'Event loop 90th percentile delay (excess over the sampling resolution)'),
    p99: spec(METRIC_NODEJS_EVENTLOOP_DELAY_P99, 'gauge', 's', 'Event loop 99th percentile delay (excess over the sampling resolution)'),
  },
  utilization: spec(METRIC_NODEJS_EVENTLOOP_UTILIZATION, 'gauge', '1', 'Event loop utilization over the last interval'),
  time: spec(METRIC_NODEJS_EVENTLOOP_TIME, 'counter', 's', 'Cumulative time the event loop spent active or idle'),
  gcDuration: spec(METRIC_V8JS_GC_DURATION, 'histogram', 's', 'Garbage collection pause duration by kind'),
  heapUsed: spec(METRIC_V8JS_MEMORY_HEAP_USED, 'gauge', 'By', 'Heap space used'),
  heapSpaceSize: spec(METRIC_V8JS_MEMORY_HEAP_SPACE_SIZE, 'gauge', 'By', 'Heap space size'),
  heapSpaceAvailable: spec(METRIC_V8JS_MEMORY_HEAP_SPACE_AVAILABLE_SIZE, 'gauge', 'By', 'Heap space available size'),
  heapSpacePhysical: spec(METRIC_V8JS_MEMORY_HEAP_SPACE_PHYSICAL_SIZE, 'gauge', 'By', 'Committed physical size of a heap space'),
  resourceActive: spec(METRIC_V8JS_RESOURCE_ACTIVE, 'gauge', '{resource}', 'Active libuv resources keeping the loop alive, by type'),
};

/** Python probe layer. cpython.gc.* counters follow semconv; the rest have no convention yet. */
export const PYTHON = {
  gcCollections: spec(METRIC_CPYTHON_GC_COLLECTIONS, 'counter', '{collection}', 'Garbage collections by generation'),
  gcCollected: spec(METRIC_CPYTHON_GC_COLLECTED_OBJECTS, 'counter', '{object}', 'Objects collected by generation'),
  gcUncollectable: spec(METRIC_CPYTHON_GC_UNCOLLECTABLE_OBJECTS, 'counter', '{object}', 'Uncollectable objects found by generation'),
  gcDuration: spec('cpython.gc.duration', 'histogram', 's', 'Garbage collection pause duration by generation'),
  loopDelay: {
    min: spec('rtprof.python.eventloop.delay.min', 'gauge', 's', 'asyncio loop minimum delay (lateness of a scheduled callback)'),
    max: spec('rtprof.python.eventloop.delay.max', 'gauge', 's', 'asyncio loop maximum delay'),
    mean: spec('rtprof.python.eventloop.delay.mean', 'gauge', 's', 'asyncio loop mean delay'),
    p50: spec('rtprof.python.eventloop.delay.p50', 'gauge', 's', 'asyncio loop 50th percentile delay'),
    p90: spec('rtprof.python.eventloop.delay.p90', 'gauge', 's', 'asyncio loop 90th percentile delay'),
    p99: spec('rtprof.python.eventloop.delay.p99', 'gauge', 's', 'asyncio loop 99th percentile delay'),
  },
  loopUtilization: spec('rtprof.python.eventloop.utilization', 'gauge', '1', 'asyncio loop utilization (time outside selector.select)'),
  interpreterDelay: {
    min: spec('rtprof.python.interpreter.delay.min', 'gauge', 's', 'Interpreter (GIL) delay: minimum lateness of the probe thread'),
    max: spec('rtprof.python.interpreter.delay.max', 'gauge', 's', 'Interpreter (GIL) delay: maximum lateness of the probe thread'),
    mean: spec('rtprof.python.interpreter.delay.mean', 'gauge', 's', 'Interpreter (GIL) delay: mean lateness of the probe thread'),
    p50: spec('rtprof.python.interpreter.delay.p50', 'gauge', 's', 'Interpreter (GIL) delay: 50th percentile'),
    p90: spec('rtprof.python.interpreter.delay.p90', 'gauge', 's', 'Interpreter (GIL) delay: 90th percentile'),
    p99: spec('rtprof.python.interpreter.delay.p99', 'gauge', 's', 'Interpreter (GIL) delay: 99th percentile'),
  },
};

/** Work in flight, from either probe. */
export const WORK = {
  active: spec('rtprof.requests.active', 'updowncounter', '{request}', 'Requests being handled now'),
  completed: spec('rtprof.requests.completed', 'counter', '{request}', 'Requests completed'),
  busyTime: spec('rtprof.requests.busy.time', 'counter', 's', 'Wall time with at least one request in flight'),
};

/** The agent itself. */
export const AGENT = {
  channelDropped: spec('rtprof.channel.dropped', 'counter', '{message}', 'Probe messages the agent dropped, by reason'),
  targets: spec('rtprof.targets', 'updowncounter', '{target}', 'Targets watched now'),
};

/** GC pauses run from ~50 µs scavenges to multi-second full collections. */
export const GC_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
