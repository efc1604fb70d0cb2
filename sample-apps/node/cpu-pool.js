'use strict';
// The sample service's compute (burn) and a worker_threads pool that runs it off the event loop
// (GET /offload). This file is also the workers' script. Workers are named cpu-pool-1..N, so their
// metrics carry thread_name="cpu-pool-1" and so on.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');

/** Busy compute until ms of wall time have passed; returns the iterations done. */
function burn(ms) {
  const deadline = performance.now() + ms;
  let x = 1;
  let iterations = 0;
  do {
    for (let i = 0; i < 1000; i++) x = (x * 48271) % 2147483647;
    iterations += 1000;
  } while (performance.now() < deadline);
  if (x === 0) throw new Error('unreachable'); // keep x alive
  return iterations;
}

if (!isMainThread && parentPort) {
  parentPort.on('message', ({ id, ms }) => parentPort.postMessage({ id, iterations: burn(ms) }));
}

/** A fixed pool of size workers; run(ms) resolves with the iterations once a free worker burned ms. */
function createPool(size) {
  const idle = [];
  const queue = [];
  const pending = new Map();
  let nextId = 1;
  const dispatch = (worker) => {
    const job = queue.shift();
    if (!job) return void idle.push(worker);
    const id = nextId++;
    pending.set(id, job.resolve);
    worker.postMessage({ id, ms: job.ms });
  };
  const workers = [];
  for (let i = 1; i <= size; i++) {
    const worker = new Worker(path.join(__dirname, 'cpu-pool.js'), { name: `cpu-pool-${i}` });
    worker.on('message', ({ id, iterations }) => {
      const resolve = pending.get(id);
      pending.delete(id);
      if (resolve) resolve(iterations);
      dispatch(worker);
    });
    // A pool kept for the service's lifetime must not be what keeps the process alive on SIGTERM.
    worker.unref();
    workers.push(worker);
    idle.push(worker);
  }
  return {
    run(ms) {
      return new Promise((resolve) => {
        queue.push({ ms, resolve });
        const worker = idle.shift();
        if (worker) dispatch(worker);
      });
    },
    close() {
      return Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

module.exports = { burn, createPool };
