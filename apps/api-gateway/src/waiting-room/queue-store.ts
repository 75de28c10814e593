import { randomInt } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { RedisAvailability } from '../redis/redis-availability.js';
import { repaced, type Pace } from './queue-rules.js';
import { ADMIT, CLAIM, CLOSE, JOIN, PLACE, READ_CONF, ROOM, SETTLE, WRITE_CONF } from './queue-scripts.js';
import { roomKeys, waitingRoomPrefix } from './room-keys.js';

export type JoinResult =
  { kind: 'off' | 'closed' } | { kind: 'not_yet'; joinOpensAt: number } | { kind: 'joined'; rank: number; now: number };

/** What the place script read: the room's pace and the client's own record. */
export interface PlaceRecord {
  pace: Pace;
  opensAt: number;
  closed: boolean;
  rank: number | undefined;
  admission?: { jti: string; expiresAt: number; state: 'issued' | 'claimed' | 'used' };
  now: number;
}

export interface RoomRecord {
  pace: Pace;
  /** The reservations' p99 the pace adapts to; null: a fixed pace. */
  targetMs: number | null;
  maxRate: number;
  leadMs: number;
  opensAt: number;
  closed: boolean;
  queued: number;
  admitted: number;
  now: number;
}

export type ClaimResult = 'off' | 'unknown' | 'used' | 'busy' | 'claimed';

/** A change to a room; what is left out keeps its value. */
export interface RoomChange {
  rate?: number;
  leadMs?: number;
  opensAt?: number;
  targetMs?: number | null;
  maxRate?: number;
  /** The pace an adaptive pace was last cut from (null: forget it). */
  cutAt?: number | null;
}

interface RoomQuestion {
  promise: Promise<boolean>;
  resolve: (hasRoom: boolean) => void;
  reject: (error: unknown) => void;
}

/** A claim older than this is taken to be lost with its gateway (longer than any reservation may run). */
const CLAIM_TTL_MS = 60_000;
const WRITE_ATTEMPTS = 5;
/**
 * How long a used admission still counts as holding its seat: about what a booking takes to reach every
 * gateway's count of seats left (a few of the live feed's windows, LIVE_COALESCE_MS, and a read of the
 * event). Longer would slow the last seats' admissions down, which wait for it.
 */
const USED_HOLDS_SEAT_MS = 300;

type Reply = (string | number | null)[] | null;

/** The waiting room's state in Redis, one script per atomic step (queue-scripts.ts). */
@Injectable()
export class QueueStore {
  private readonly prefix: string;
  private readonly join$;
  private readonly place$;
  private readonly admit$;
  private readonly claim$;
  private readonly settle$;
  private readonly readConf$;
  private readonly writeConf$;
  private readonly close$;
  private readonly room$;
  /** Events asked about in the current turn of the event loop (`hasRoom`), not yet sent. */
  private roomQuestions?: Map<number, RoomQuestion>;

  constructor(
    private readonly redis: RedisAvailability,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.prefix = waitingRoomPrefix(config);
    this.join$ = redis.defineScript<Reply>('waitingRoomJoin', 4, JOIN);
    this.place$ = redis.defineScript<Reply>('waitingRoomPlace', 4, PLACE);
    this.admit$ = redis.defineScript<Reply>('waitingRoomAdmit', 6, ADMIT);
    this.claim$ = redis.defineScript<ClaimResult>('waitingRoomClaim', 2, CLAIM);
    this.settle$ = redis.defineScript<number>('waitingRoomSettle', 2, SETTLE);
    this.readConf$ = redis.defineScript<Reply>('waitingRoomReadConf', 1, READ_CONF);
    this.writeConf$ = redis.defineScript<number>('waitingRoomWriteConf', 1, WRITE_CONF);
    this.close$ = redis.defineScript<number>('waitingRoomClose', 1, CLOSE);
    this.room$ = redis.defineScript<Reply>('waitingRoomRoom', 3, ROOM);
  }

  get available(): boolean {
    return this.redis.available;
  }

  async join(eventId: number, userId: string): Promise<JoinResult> {
    const k = roomKeys(this.prefix, eventId);
    // A uniform draw from [0, 1), used only if the arrival is placed early.
    const score = `0.${String(randomInt(0, 2 ** 48 - 1)).padStart(15, '0')}`;
    const reply = (await this.join$(k.conf, k.q, k.seq, k.adm, userId, score))!;
    if (reply[0] === 'not_yet') return { kind: 'not_yet', joinOpensAt: Number(reply[1]) };
    if (reply[0] === 'joined') return { kind: 'joined', rank: Number(reply[1]), now: Number(reply[2]) };
    return { kind: reply[0] as 'off' | 'closed' };
  }

  async place(eventId: number, userId: string): Promise<PlaceRecord | undefined> {
    const k = roomKeys(this.prefix, eventId);
    const reply = await this.place$(k.conf, k.q, k.adm, k.tok, userId);
    if (!reply) return undefined;
    const [rate, opensAt, baseAt, baseCount, closed, rank, admission, state, now] = reply.map(String);
    const record: PlaceRecord = {
      pace: { rate: Number(rate), baseAt: Number(baseAt), baseCount: Number(baseCount) },
      opensAt: Number(opensAt),
      closed: closed === '1',
      rank: rank === '-1' ? undefined : Number(rank),
      now: Number(now),
    };
    if (admission) {
      const [jti, expiresAt] = admission.split('|');
      const tokenState = state!.startsWith('claimed') ? 'claimed' : state === 'used' ? 'used' : 'issued';
      record.admission = { jti: jti!, expiresAt: Number(expiresAt), state: tokenState };
    }
    return record;
  }

  /**
   * The place's one admission: recorded now, or the one recorded before; 'held' while the admissions not yet
   * used hold `seatsLeft` seats or more, or while the seats they leave go to places held before this one.
   */
  async admit(
    eventId: number,
    userId: string,
    jti: string,
    expiresAt: number,
    seatsLeft: number,
  ): Promise<{ kind: 'off' | 'closed' | 'held' } | { kind: 'admitted'; jti: string; expiresAt: number }> {
    const k = roomKeys(this.prefix, eventId);
    const keys = [k.conf, k.adm, k.tok, k.live, k.q, k.held];
    const reply = (await this.admit$(...keys, userId, jti, String(expiresAt), seatsLeft))!;
    if (reply[0] !== 'admitted') return { kind: reply[0] as 'off' | 'closed' | 'held' };
    const [recordedJti, recordedExpiry] = String(reply[1]).split('|');
    return { kind: 'admitted', jti: recordedJti!, expiresAt: Number(recordedExpiry) };
  }

  /**
   * Whether the event has a waiting room. The questions asked in one turn of the event loop (a crowd's
   * reservations) go to Redis together once that turn is over: one round trip for all of them, sent after
   * each of them arrived, so a room switched on before a reservation reached this gateway is never missed.
   */
  hasRoom(eventId: number): Promise<boolean> {
    if (!this.roomQuestions) {
      const questions = new Map<number, RoomQuestion>();
      this.roomQuestions = questions;
      setImmediate(() => void this.askRooms(questions));
    }
    let question = this.roomQuestions.get(eventId);
    if (!question) {
      let resolve!: RoomQuestion['resolve'];
      let reject!: RoomQuestion['reject'];
      const promise = new Promise<boolean>((settle, fail) => ([resolve, reject] = [settle, fail]));
      question = { promise, resolve, reject };
      this.roomQuestions.set(eventId, question);
    }
    return question.promise;
  }

  private async askRooms(questions: Map<number, RoomQuestion>): Promise<void> {
    this.roomQuestions = undefined;
    const ids = [...questions.keys()];
    try {
      // A pipeline reports a lost connection per command rather than by rejecting: thrown here, so that
      // RedisAvailability takes it for Redis being away, as it does any other command's.
      const answers = await this.redis.run(async (redis) => {
        const replies = await redis.pipeline(ids.map((id) => ['exists', roomKeys(this.prefix, id).conf])).exec();
        if (!replies) throw new Error('the pipeline was not run');
        const failed = replies.find(([error]) => error);
        if (failed) throw failed[0];
        return replies.map(([, exists]) => exists === 1);
      });
      ids.forEach((id, i) => questions.get(id)!.resolve(answers[i]!));
    } catch (error) {
      for (const question of questions.values()) question.reject(error);
    }
  }

  /** Claims an admission token (`jti`) of the event's room for a reservation; 'off' when it has no room. */
  claim(eventId: number, jti: string): Promise<ClaimResult> {
    const k = roomKeys(this.prefix, eventId);
    return this.claim$(k.conf, k.tok, jti, CLAIM_TTL_MS);
  }

  async settle(eventId: number, jti: string, outcome: 'used' | 'issued'): Promise<void> {
    const k = roomKeys(this.prefix, eventId);
    await this.settle$(k.tok, k.live, jti, outcome, USED_HOLDS_SEAT_MS);
  }

  async close(eventId: number): Promise<boolean> {
    return (await this.close$(roomKeys(this.prefix, eventId).conf)) === 1;
  }

  async room(eventId: number): Promise<RoomRecord | undefined> {
    const k = roomKeys(this.prefix, eventId);
    const reply = await this.room$(k.conf, k.q, k.adm);
    if (!reply) return undefined;
    const [rate, leadMs, opensAt, baseAt, baseCount, closed, queued, admitted, now, targetMs, maxRate] =
      reply.map(Number);
    return {
      pace: { rate: rate!, baseAt: baseAt!, baseCount: baseCount! },
      targetMs: reply[9] === '' ? null : targetMs!,
      maxRate: maxRate!,
      leadMs: leadMs!,
      opensAt: opensAt!,
      closed: closed === 1,
      queued: queued!,
      admitted: admitted!,
      now: now!,
    };
  }

  /**
   * Switches the room on or changes it: the pace is decided in code (`repaced`, keeping the count reached)
   * and written only if nobody changed the room meanwhile. Returns false when asked to change a room that
   * does not exist.
   */
  async configure(eventId: number, change: RoomChange, createIfMissing: boolean): Promise<boolean> {
    const k = roomKeys(this.prefix, eventId);
    // Listed before it exists (the list is another slot, so not in the script): a replica that reads the list
    // while Redis then goes away must never miss a room, while a room listed but never written costs nothing.
    if (createIfMissing) await this.redis.run((redis) => redis.sadd(this.roomsKey, String(eventId)));
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const reply = (await this.readConf$(k.conf))!.map(String);
      const now = Number(reply.at(-1));
      const exists = reply.length > 1;
      if (!exists && !createIfMissing) return false;
      const [rate, leadMs, opensAt, baseAt, baseCount, version, targetMs, maxRate, cutAt] = reply;
      const current = exists ? { rate: Number(rate), baseAt: Number(baseAt), baseCount: Number(baseCount) } : undefined;
      const nextRate = change.rate ?? Number(rate);
      const nextOpensAt = change.opensAt ?? Number(opensAt);
      const pace = repaced(current, nextRate, nextOpensAt, now);
      const kept = (value: number | null | undefined, current: string) =>
        value === undefined ? current : (value?.toString() ?? '');
      const written = await this.writeConf$(
        k.conf,
        exists ? version! : '',
        String(nextRate),
        String(change.leadMs ?? Number(leadMs)),
        String(nextOpensAt),
        String(pace.baseAt),
        String(pace.baseCount),
        kept(change.targetMs, targetMs!),
        String(change.maxRate ?? Number(maxRate)),
        kept(change.cutAt, cutAt!),
      );
      if (written === 1) return true;
    }
    throw new Error(`waiting room of event ${eventId} kept changing while being configured`);
  }

  /** Switches the room off: its queue and admissions are forgotten. Returns false if there was none. */
  async remove(eventId: number): Promise<boolean> {
    const k = roomKeys(this.prefix, eventId);
    // Unlisted only once gone: until then a replica that reads the list still counts the room.
    const removed = await this.redis.run((redis) =>
      redis.del(k.conf, k.q, k.seq, k.adm, k.tok, k.live, k.held, k.lat, k.ctl),
    );
    await this.redis.run((redis) => redis.srem(this.roomsKey, String(eventId)));
    return removed > 0;
  }

  /** The events that have a waiting room. */
  async rooms(): Promise<number[]> {
    return (await this.redis.run((redis) => redis.smembers(this.roomsKey))).map(Number);
  }

  private get roomsKey(): string {
    return `${this.prefix}rooms`;
  }
}
