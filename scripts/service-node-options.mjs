/**
 * NODE_OPTIONS every service runs with: here (`pnpm start`), in the load
 * harness and in the container image (infrastructure/docker/Dockerfile; a test
 * keeps them equal). Without a heap cap V8 sizes the heap from the machine's
 * memory and lets garbage pile up: the gateway peaked at about 300 MB resident
 * in a load run. With this cap it peaks near 165 MB at the same throughput. A
 * lower cap (256) also made V8 collect the old generation again once it reached
 * at most 1.3 times its live size, which made garbage-collection storms more
 * frequent (docs/performance.md). What started them is turned off where
 * NODE_OPTIONS cannot reach: V8's allocation-site pretenuring (`runService`).
 */
export const SERVICE_NODE_OPTIONS = '--max-old-space-size=1024';
