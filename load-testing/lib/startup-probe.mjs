// Preloaded (`--import`) into a service by `pnpm bench:startup`. Marks when the
// service creates its Fastify instance, the first step of building its
// application (every module is loaded by then), and when `/health/ready` first
// answers 200; and how the main thread spent the time between: running code
// (the application's initialisation, the clients' own work) or idle in the
// event loop (waiting for PostgreSQL, NATS, Redis or a timer). Also the
// process's CPU time and how many CommonJS modules it loaded from files.
// Writes them as one JSON line to file descriptor 3. Loads nothing itself.
import { subscribe } from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

let loaded;
let loopAtLoaded;
let cpuAtLoaded;
subscribe('fastify.initialization', () => {
  if (loaded !== undefined) return;
  loaded = performance.now();
  loopAtLoaded = performance.eventLoopUtilization();
  cpuAtLoaded = process.cpuUsage();
});

let reported = false;
subscribe('http.server.response.finish', ({ request, response }) => {
  if (reported || loaded === undefined || request.url !== '/health/ready' || response.statusCode !== 200) return;
  reported = true;
  const ready = performance.now();
  const { active, idle } = performance.eventLoopUtilization(performance.eventLoopUtilization(), loopAtLoaded);
  const cpu = process.cpuUsage();
  const marks = {
    timeOrigin: performance.timeOrigin,
    loaded,
    ready,
    active,
    idle,
    // CPU time of the whole process (all its threads), in ms: less sensitive than wall time to a busy machine.
    loadingCpu: (cpuAtLoaded.user + cpuAtLoaded.system) / 1000,
    totalCpu: (cpu.user + cpu.system) / 1000,
    commonJsModules: Object.keys(createRequire(import.meta.url).cache).length,
  };
  writeSync(3, `${JSON.stringify(marks)}\n`);
});
