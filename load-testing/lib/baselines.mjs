// Two reference points measured in the same run, on the same machine:
// PostgreSQL alone running the booking statement (pgbench), and a bare Node
// HTTP server answering a constant JSON body.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The service's reserve statement, as one pgbench transaction on one hot event row, distinct users. */
const RESERVE_SCRIPT = `\\set uid random(1, 2000000000)
WITH inserted AS (
  INSERT INTO bookings (event_id, user_id)
  SELECT e.id, 'pgbench-' || :client_id || '-' || :uid FROM events e
  WHERE e.id = :event_id AND e.booked_seats < e.total_seats
  ON CONFLICT (event_id, user_id) DO NOTHING
  RETURNING id, event_id, user_id, created_at)
SELECT i.id, i.event_id, i.user_id, i.created_at,
       EXISTS (SELECT 1 FROM events WHERE id = :event_id) AS event_exists,
       EXISTS (SELECT 1 FROM bookings WHERE event_id = :event_id AND user_id = 'pgbench-' || :client_id || '-' || :uid) AS already_booked,
       EXISTS (SELECT 1 FROM events WHERE id = :event_id AND booked_seats < total_seats) AS seat_available
FROM (SELECT 1) AS one LEFT JOIN inserted i ON true;
`;

export async function pgbenchReserve({ databaseUrl, eventId, clients, seconds }) {
  const dir = mkdtempSync(join(tmpdir(), 'pgbench-'));
  const script = join(dir, 'reserve.sql');
  writeFileSync(script, RESERVE_SCRIPT);
  let stdout;
  try {
    ({ stdout } = await run(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(clients),
        '-j',
        '2',
        '-T',
        String(seconds),
        '-D',
        `event_id=${eventId}`,
        '-f',
        script,
        '-r',
        databaseUrl,
      ],
      { maxBuffer: 10 * 1024 * 1024, timeout: (seconds + 60) * 1000 },
    ));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1] ?? NaN);
  return { clients, seconds, transactionsPerSecond: Math.round(tps), latencyAverageMs: latencyMs };
}

const BARE_SERVER = `
const http = require('node:http');
const body = JSON.stringify({ id: 1, name: 'Demo Concert', total_seats: 100, available_seats: 42 });
http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); })
  .listen(0, '127.0.0.1', function () { process.send(this.address().port); });
`;

/** Starts the bare server; `{ url, pid, stop() }`. */
export async function startBareNodeServer() {
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const stop = () => {
    child.kill();
    return once(child, 'exit');
  };
  try {
    const [port] = await once(child, 'message', { signal: AbortSignal.timeout(10_000) });
    return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw new Error(`the bare Node server did not start: ${error.message}`, { cause: error });
  }
}
