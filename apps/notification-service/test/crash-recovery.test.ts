import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture, Stack } from '../../api-gateway/test/support/stack.js';
import { WebhookReceiver } from './webhook-receiver.js';

const NOTIFICATION_SERVICE_MAIN = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url));

describe('notification service killed mid-stream and restarted', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1 });
    // Slow enough that the kill lands while events are being delivered.
    receiver = new WebhookReceiver(() => sleep(20).then(() => 200));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await receiver?.stop();
    await stack?.stop();
  });

  /** What each process started wrote to standard output. */
  const outputs: LogCapture[] = [];

  async function startService(webhookUrl: string): Promise<ChildProcess> {
    const port = await freePort();
    const output = new LogCapture();
    outputs.push(output);
    const process_ = spawn(process.execPath, [NOTIFICATION_SERVICE_MAIN], {
      env: {
        ...process.env,
        ...stack.serviceEnv,
        NOTIFICATION_SERVICE_PORT: String(port),
        NOTIFY_WEBHOOK_URL: webhookUrl,
        NOTIFICATION_MAX_IN_FLIGHT: '8',
        // Every event of the stream, refusals included (not notified by default).
        NOTIFICATION_EVENT_TYPES: 'booking.created,booking.cancelled,booking.failed',
        NOTIFICATION_ACK_WAIT_MS: '2000',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process_.stdout!.on('data', (chunk: Buffer) => output.write(chunk));
    await waitUntil(
      () =>
        fetch(`http://127.0.0.1:${port}/health/ready`).then(
          (response) => response.ok,
          () => false,
        ),
      20_000,
      'notification-service ready',
    );
    return process_;
  }

  const count = async (sql: string) => Number((await stack.db.query<{ n: string }>(sql)).rows[0]!.n);
  const recordedIds = async () =>
    (await stack.db.query<{ event_id: string }>('SELECT event_id FROM notifications.received_events')).rows.map(
      (row) => row.event_id,
    );
  /** The event ids of the log channel's lines a process wrote (a line cut short by the kill is not one). */
  const loggedIds = (output: LogCapture): string[] =>
    output
      .raw()
      .split('\n')
      .filter((line) => line.includes('"context":"Notification"'))
      .flatMap((line) => {
        try {
          return [(JSON.parse(line) as { message_id: string }).message_id];
        } catch {
          return [];
        }
      });

  it('every event is recorded once; every channel notifies every event, a repeat only for what was in flight', async () => {
    const eventId = await stack.db.createEvent(200);
    const responses = await Promise.all(
      Array.from({ length: 260 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `fan-${i}` })),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(200);
    await stack.outboxDrained();
    const streamIds = (await stack.streamEvents()).map((s) => s.event.id);
    expect(streamIds).toHaveLength(260);

    const url = await receiver.start();
    child = await startService(url);
    await waitUntil(
      async () => (await count('SELECT count(*) AS n FROM notifications.received_events')) >= 40,
      20_000,
      'first deliveries',
    );
    child.kill('SIGKILL');
    // 'close': its standard output read to the end.
    await new Promise((resolve) => child!.once('close', resolve));
    const recordedBeforeRestart = await recordedIds();
    const beforeRestart = recordedBeforeRestart.length;
    expect(beforeRestart).toBeLessThan(260); // killed mid-stream
    // The log line is written before the event's record commits: every event recorded has its line.
    const loggedBeforeRestart = new Set(loggedIds(outputs[0]!));
    expect(recordedBeforeRestart.filter((id) => !loggedBeforeRestart.has(id))).toEqual([]);

    child = await startService(url);
    await waitUntil(
      async () =>
        (await count(
          "SELECT count(*) AS n FROM notifications.deliveries WHERE channel = 'webhook' AND status = 'delivered'",
        )) === 260,
      30_000,
      'all webhook deliveries',
    );

    expect((await recordedIds()).sort()).toEqual([...streamIds].sort());
    expect(await count("SELECT count(*) AS n FROM notifications.deliveries WHERE channel = 'log'")).toBe(260);
    expect(await count("SELECT count(*) AS n FROM notifications.deliveries WHERE status <> 'delivered'")).toBe(0);

    const received = new Set(receiver.requests.map((r) => r.eventId));
    expect([...received].sort()).toEqual([...streamIds].sort());
    // At most the deliveries in flight at the kill can repeat (at-least-once to the webhook,
    // with the Idempotency-Key header to drop them); everything else arrives once.
    const repeats = receiver.requests.length - received.size;
    // The same for the log lines: a line written for an event whose record had not committed at the kill.
    const lines = outputs.flatMap(loggedIds);
    const logged = new Set(lines);
    expect([...logged].sort()).toEqual([...streamIds].sort());
    const lineRepeats = lines.length - logged.size;
    console.info(
      `killed after ${beforeRestart} events; repeats after the crash: ${repeats} webhook, ${lineRepeats} log lines`,
    );
    expect(repeats).toBeLessThanOrEqual(8);
    expect(lineRepeats).toBeLessThanOrEqual(8);
  });
});
