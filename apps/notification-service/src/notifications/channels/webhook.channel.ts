import type { BookingEvent } from '@booking/shared';
import {
  bulkhead,
  ExponentialBackoff,
  handleWhen,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
  type BulkheadPolicy,
  type TimeoutPolicy,
} from 'cockatiel';

/** How the delivery of one event ended. */
export interface DeliveryOutcome {
  status: 'delivered' | 'dead_letter';
  /** All attempts so far, including those of earlier runs. */
  attempts: number;
  error?: string;
}

export interface DeliveryAttempts {
  /** Attempts made before (by a run that crashed or stopped mid-delivery). */
  previous: number;
  /** Records a failed attempt, so a restart continues the count instead of starting over. */
  afterFailure(attempts: number, error: string): Promise<void>;
  /** Aborted on shutdown: the delivery stops and stays pending, to be resumed on redelivery. */
  shutdown: AbortSignal;
}

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
  /** Attempts in total (first one included) before the delivery is dead-lettered. */
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Requests in flight at once, over all events; further attempts wait for a free place. */
  concurrency: number;
}

/** A response that retrying cannot fix (4xx other than 408 and 429). */
class PermanentFailure extends Error {}

/**
 * POSTs the event envelope to NOTIFY_WEBHOOK_URL. Each attempt has a timeout;
 * failures are retried with exponential backoff and decorrelated jitter
 * (cockatiel's default generator), up to the maximum number of attempts, then
 * the delivery is dead-lettered. At most `concurrency` requests are in flight
 * (a place is held for one attempt, not through the backoff after it), so a
 * webhook that is slow for some events delays the others only once every place
 * is taken. The `Idempotency-Key` header (the event id)
 * lets the receiver drop the rare repeat after a crash between a successful
 * POST and recording it.
 */
export class WebhookChannel {
  readonly name = 'webhook';
  private readonly places: BulkheadPolicy;
  private readonly attemptTimeout: TimeoutPolicy;

  constructor(private readonly options: WebhookOptions) {
    this.places = bulkhead(options.concurrency, Infinity);
    this.attemptTimeout = timeout(options.timeoutMs, TimeoutStrategy.Cooperative);
  }

  async deliver(event: BookingEvent, attempts: DeliveryAttempts): Promise<DeliveryOutcome> {
    const remaining = this.options.maxAttempts - attempts.previous;
    if (remaining <= 0) return { status: 'dead_letter', attempts: attempts.previous, error: 'no attempts left' };
    const policy = wrap(
      retry(
        handleWhen((error) => !(error instanceof PermanentFailure)),
        {
          maxAttempts: remaining - 1,
          backoff: new ExponentialBackoff({
            initialDelay: this.options.backoffInitialMs,
            maxDelay: this.options.backoffMaxMs,
          }),
        },
      ),
      this.places,
      this.attemptTimeout,
    );
    let made = attempts.previous;
    let lastError = '';
    try {
      await policy.execute(async ({ signal }) => {
        made += 1;
        try {
          await this.post(event, signal);
        } catch (error) {
          lastError =
            signal.aborted && !attempts.shutdown.aborted
              ? `timed out after ${this.options.timeoutMs} ms`
              : describe(error);
          await attempts.afterFailure(made, lastError);
          throw error;
        }
      }, attempts.shutdown);
      return { status: 'delivered', attempts: made };
    } catch (error) {
      // Stopped by shutdown: not a verdict on the webhook; the event stays pending.
      if (attempts.shutdown.aborted) throw error;
      return { status: 'dead_letter', attempts: made, error: lastError };
    }
  }

  private async post(event: BookingEvent, signal: AbortSignal): Promise<void> {
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': event.id,
        'x-event-type': event.type,
        'x-correlation-id': event.correlation_id,
      },
      body: JSON.stringify(event),
      signal,
    });
    await response.body?.cancel();
    if (response.ok) return;
    const message = `HTTP ${response.status} from webhook`;
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw retryable ? new Error(message) : new PermanentFailure(message);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
