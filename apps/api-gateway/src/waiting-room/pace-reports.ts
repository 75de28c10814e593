import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { RedisAvailability } from '../redis/redis-availability.js';
import type { AdaptivePaceState, LatencySample } from './queue-rules.js';
import { REPORT_LATENCY, RESTART_LATENCY, TAKE_LATENCY } from './queue-scripts.js';
import { roomKeys, waitingRoomPrefix } from './room-keys.js';

/** An adaptive pace to reconsider: the room's and the reservations reported since it last was. */
export interface PaceToJudge {
  pace: AdaptivePaceState;
  sample: LatencySample;
}

/** The adaptive pace's side of a room in Redis: the replicas' latency reports, and which one judges when. */
@Injectable()
export class PaceReports {
  private readonly prefix: string;
  private readonly report$;
  private readonly take$;
  private readonly restart$;

  constructor(redis: RedisAvailability, @Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.prefix = waitingRoomPrefix(config);
    this.report$ = redis.defineScript<number>('waitingRoomReportLatency', 1, REPORT_LATENCY);
    this.take$ = redis.defineScript<(string | number)[]>('waitingRoomTakeLatency', 3, TAKE_LATENCY);
    this.restart$ = redis.defineScript<number>('waitingRoomRestartLatency', 1, RESTART_LATENCY);
  }

  /** Adds this replica's reservations since its last report to those an adaptive pace is judged on. */
  async add(eventId: number, sample: LatencySample): Promise<void> {
    await this.report$(roomKeys(this.prefix, eventId).lat, sample.count, sample.slow, sample.nearlySlow);
  }

  /**
   * The room's latency target (null: a fixed pace, or no room), and, when this replica is the one to judge
   * its pace now (`holdMs` apart at most once over all replicas, with enough reservations reported), the
   * pace and those reservations, which are then taken.
   */
  async toJudge(
    eventId: number,
    holdMs: number,
    minCount: number,
    maxWindowMs: number,
  ): Promise<{ targetMs: number | null; judge?: PaceToJudge }> {
    const k = roomKeys(this.prefix, eventId);
    const reply = (await this.take$(k.conf, k.lat, k.ctl, holdMs, minCount, maxWindowMs)).map(String);
    const targetMs = reply[0] === '' ? null : Number(reply[0]);
    if (reply.length === 1) return { targetMs };
    const [, rate, maxRate, cutAt, count, slow, nearlySlow] = reply.map(Number);
    const pace = { rate: rate!, maxRate: maxRate!, cutAt: reply[3] === '' ? null : cutAt! };
    return { targetMs, judge: { pace, sample: { count: count!, slow: slow!, nearlySlow: nearlySlow! } } };
  }

  /**
   * After a change of pace: what was reported so far is dropped, and so is what is reported within
   * `ignoreMs`, so that the next judgment is of reservations made at the new pace.
   */
  async restart(eventId: number, ignoreMs: number): Promise<void> {
    await this.restart$(roomKeys(this.prefix, eventId).lat, ignoreMs);
  }
}
