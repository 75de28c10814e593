import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { PaceReports } from './pace-reports.js';
import { adaptedRate, type LatencySample } from './queue-rules.js';
import { QueueStore } from './queue-store.js';

/** How often each replica reports its reservations' latencies and an adaptive pace may be reconsidered. */
const ADAPT_INTERVAL_MS = 1_000;
/** Fewest reservations a pace is judged on, unless they took MAX_WINDOW_MS to come (a slow pace). */
const MIN_SAMPLE = 20;
const MAX_WINDOW_MS = 5_000;
/**
 * After a change of pace, reports are dropped for this long: each replica's report holds its last
 * second, so reports sent sooner hold reservations made at the pace before, and the booking path's backlog
 * from a pace that was too fast; judged on them, a pace just halved would be halved again.
 */
const REPORTS_IGNORED_AFTER_CHANGE_MS = 1.5 * ADAPT_INTERVAL_MS;

/**
 * The pace of rooms with a latency target (`booking_p99_target_ms`), following the booking path's latency
 * as the gateways measure it (from a token's check to the reservation's answer). Each replica counts its
 * reservations with an admission token, those slower than the target and those slower than half of it,
 * and adds them in Redis each second; then one replica a second (whichever takes the room's hold first)
 * judges the pace on everything reported since it was last judged (`adaptedRate`) and writes the new one
 * like an organiser's change, keeping every place and the count already admitted.
 */
@Injectable()
export class AdaptivePace implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AdaptivePace.name);
  /** Targets of the rooms with one, as last read: only their reservations are counted. */
  private targets = new Map<number, number>();
  private samples = new Map<number, LatencySample>();
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly store: QueueStore,
    private readonly reports: PaceReports,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.adapt(), ADAPT_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** A reservation with an admission token that was put to the booking service, and how long it took. */
  record(eventId: number, elapsedMs: number): void {
    const target = this.targets.get(eventId);
    if (target === undefined) return;
    const sample = this.samples.get(eventId) ?? { count: 0, slow: 0, nearlySlow: 0 };
    sample.count++;
    if (elapsedMs > target) sample.slow++;
    if (elapsedMs > target / 2) sample.nearlySlow++;
    this.samples.set(eventId, sample);
  }

  /** Reports this replica's counts, then judges the paces that are this replica's turn to judge. */
  async adapt(): Promise<void> {
    if (this.running || !this.store.available) return;
    this.running = true;
    try {
      const samples = this.samples;
      this.samples = new Map();
      for (const [eventId, sample] of samples) await this.reports.add(eventId, sample);
      const targets = new Map<number, number>();
      for (const eventId of await this.store.rooms()) {
        const { targetMs, judge } = await this.reports.toJudge(eventId, ADAPT_INTERVAL_MS, MIN_SAMPLE, MAX_WINDOW_MS);
        if (targetMs === null) continue;
        targets.set(eventId, targetMs);
        if (!judge) continue;
        const next = adaptedRate(judge.pace, judge.sample);
        if (next.rate === judge.pace.rate) continue;
        await this.store.configure(eventId, { rate: next.rate, cutAt: next.cutAt }, false);
        await this.reports.restart(eventId, REPORTS_IGNORED_AFTER_CHANGE_MS);
        this.logger.log(
          `Event ${eventId}: ${judge.sample.slow} of ${judge.sample.count} reservations over ${targetMs} ms, ` +
            `pace ${judge.pace.rate} -> ${next.rate} admissions/s`,
        );
      }
      this.targets = targets;
    } catch (error) {
      // Counts not reported are lost (a second of them); the next round reads the rooms again.
      this.logger.warn(`Adaptive pace not reconsidered this round: ${String(error)}`);
    } finally {
      this.running = false;
    }
  }
}
