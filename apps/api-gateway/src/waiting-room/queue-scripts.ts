/**
 * The waiting room's atomic steps, as Lua run inside Redis (every time is Redis's clock, `TIME`, so gateway
 * replicas with different clocks agree). Each script touches the keys of one event only, which share the
 * hash tag `{E}` and so one slot of a Redis Cluster. The decisions they apply are stated in
 * queue-rules.ts; where a script repeats one (placing an arrival), the comment names it.
 *
 * Keys of event E, under the gateway's prefix: `wr:{E}:conf` (hash: rate, lead_ms, opens_at, base_at,
 * base_count, closed, version, target_ms, max_rate, cut_at), `wr:{E}:q` (sorted set: user → score), `wr:{E}:seq`
 * (arrival counter), `wr:{E}:adm` (hash: user → "jti|expires_at"), `wr:{E}:tok` (hash: jti → issued |
 * claimed:<ms> | used), `wr:{E}:live` (sorted set: jti → until when it holds a seat: the admissions not
 * yet used, and those just used), `wr:{E}:held` (sorted set: user → rank, the places whose turn came
 * while every seat left was held),
 * `wr:{E}:lat` (hash: count, slow, nearly_slow, since: reservations reported since the pace was last
 * reconsidered; ignore_until: reports dropped until then, the pace having just changed),
 * `wr:{E}:ctl` (held for a moment by the replica reconsidering the pace); `wr:rooms` (set of the events
 * with a waiting room).
 */

const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS conf, q, seq, adm; ARGV user, random score in [0, 1). Joining twice keeps the first place. Placing
 * is `placing` of queue-rules.ts: early (the random score) only before sales open while nobody has been
 * placed in arrival order or admitted; else the next arrival number, behind every early score.
 * → {'off'} | {'closed'} | {'not_yet', joinOpensAt} | {'joined', rank, now}
 */
export const JOIN = `
local conf = redis.call('HMGET', KEYS[1], 'opens_at', 'lead_ms', 'closed')
if not conf[1] then return {'off'} end
${NOW}
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if rank then return {'joined', rank, tostring(now)} end
if conf[3] == '1' then return {'closed'} end
local opens = tonumber(conf[1])
local lead = tonumber(conf[2])
if opens > 0 and now < opens - lead then return {'not_yet', tostring(opens - lead)} end
local score
if opens > 0 and now < opens and redis.call('EXISTS', KEYS[3]) == 0 and redis.call('HLEN', KEYS[4]) == 0 then
  score = ARGV[2]
else
  score = tostring(1 + redis.call('INCR', KEYS[3]))
end
redis.call('ZADD', KEYS[2], score, ARGV[1])
return {'joined', redis.call('ZRANK', KEYS[2], ARGV[1]), tostring(now)}
`;

/**
 * KEYS conf, q, adm, tok; ARGV user. One read of everything that decides a client's place.
 * → false (no room) | {rate, opens_at, base_at, base_count, closed, rank|-1, admission|'', token state|'', now}
 */
export const PLACE = `
local c = redis.call('HMGET', KEYS[1], 'rate', 'opens_at', 'base_at', 'base_count', 'closed')
if not c[1] then return false end
${NOW}
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
local adm = redis.call('HGET', KEYS[3], ARGV[1]) or ''
local state = ''
if adm ~= '' then state = redis.call('HGET', KEYS[4], string.match(adm, '^[^|]+')) or '' end
return {c[1], c[2], c[3], c[4], c[5] or '0', rank or -1, adm, state, tostring(now)}
`;

/**
 * KEYS conf, adm, tok, live, q, held; ARGV user, jti, expires_at, seats_left. Records the one admission a
 * place ever gets (a second call returns the first); none once the queue is closed or gone, and none while
 * the admissions not yet used or expired already hold every seat left: the place is then told it waits for
 * a seat (`held`, by its rank). A seat given back goes to the places held, earliest first, whether or not
 * they are the one asking now (each admission's jti is the asker's with a suffix of its own), so a seat
 * freed late goes in arrival order, not to whoever asks first.
 * → {'off'} | {'closed'} | {'held'} | {'admitted', 'jti|expires_at'}
 */
export const ADMIT = `
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then return {'off'} end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {'admitted', existing} end
if closed == '1' then return {'closed'} end
local function admit(user, jti)
  local record = jti .. '|' .. ARGV[3]
  redis.call('HSET', KEYS[2], user, record)
  redis.call('HSET', KEYS[3], jti, 'issued')
  redis.call('ZADD', KEYS[4], ARGV[3], jti)
  redis.call('ZREM', KEYS[6], user)
  return record
end
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[4])
local rank = redis.call('ZRANK', KEYS[5], ARGV[1])
-- No place (the room was switched off, and on again, since the place was read): as for a room gone.
if not rank then return {'off'} end
if free > 0 then
  local earlier = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. rank, 'LIMIT', 0, free)
  for i, user in ipairs(earlier) do admit(user, ARGV[2] .. '.' .. i) end
  free = free - #earlier
end
if free <= 0 then
  redis.call('ZADD', KEYS[6], rank, ARGV[1])
  return {'held'}
end
return {'admitted', admit(ARGV[1], ARGV[2])}
`;

/**
 * KEYS conf, tok; ARGV jti, claim_ttl_ms. Takes an admission for one
 * reservation: issued → claimed; a claim older than claim_ttl_ms (its gateway died mid-request) may be
 * taken again. → 'off' (no waiting room) | 'unknown' | 'used' | 'busy' | 'claimed'
 */
export const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'off' end
local state = redis.call('HGET', KEYS[2], ARGV[1])
if not state then return 'unknown' end
if state == 'used' then return 'used' end
${NOW}
if state ~= 'issued' and now - tonumber(string.sub(state, 9)) < tonumber(ARGV[2]) then return 'busy' end
redis.call('HSET', KEYS[2], ARGV[1], 'claimed:' .. now)
return 'claimed'
`;

/**
 * KEYS tok, live; ARGV jti, 'used' | 'issued', seen_within_ms. Ends a claim: used by a reservation, or given
 * back after a refusal. A used admission still holds its seat for seen_within_ms, by when every gateway's
 * count of seats left has seen the booking (until then it is counted twice, never not at all).
 */
export const SETTLE = `
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state and string.sub(state, 1, 8) == 'claimed:' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
if ARGV[2] == 'used' then
  ${NOW}
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
end
return 1
`;

/**
 * KEYS conf.
 * → {now} (no room) | {rate, lead_ms, opens_at, base_at, base_count, version, target_ms, max_rate, cut_at, now}
 */
export const READ_CONF = `
local c = redis.call('HMGET', KEYS[1], 'rate', 'lead_ms', 'opens_at', 'base_at', 'base_count', 'version',
  'target_ms', 'max_rate', 'cut_at')
${NOW}
if not c[1] then return {tostring(now)} end
return {c[1], c[2], c[3], c[4], c[5], c[6], c[7] or '', c[8] or c[1], c[9] or '', tostring(now)}
`;

/**
 * KEYS conf; ARGV expected version ('' for a new room), rate, lead_ms, opens_at, base_at, base_count,
 * target_ms ('' for a fixed pace), max_rate, cut_at ('' for none). Writes a pace decided in code
 * (`repaced`) unless the room changed since it was read. → 1 | 0 (changed meanwhile: read again)
 */
export const WRITE_CONF = `
local version = redis.call('HGET', KEYS[1], 'version') or ''
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rate', ARGV[2], 'lead_ms', ARGV[3], 'opens_at', ARGV[4], 'base_at', ARGV[5],
  'base_count', ARGV[6], 'target_ms', ARGV[7], 'max_rate', ARGV[8], 'cut_at', ARGV[9],
  'version', (tonumber(version) or 0) + 1)
if version == '' then redis.call('HSET', KEYS[1], 'closed', '0') end
return 1
`;

/**
 * KEYS lat; ARGV count, slow, nearly_slow. Adds one replica's reservations since its last report (and how
 * many took longer than the room's target, and than half of it) to those the pace will next be judged on,
 * unless the pace changed too recently for them to have been made at it (`ignore_until`).
 */
export const REPORT_LATENCY = `
${NOW}
local ignored = redis.call('HGET', KEYS[1], 'ignore_until')
if ignored and now < tonumber(ignored) then return 0 end
redis.call('HSETNX', KEYS[1], 'since', now)
redis.call('HINCRBY', KEYS[1], 'count', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'slow', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'nearly_slow', ARGV[3])
return 1
`;

/**
 * KEYS conf, lat, ctl; ARGV hold_ms, min_count, max_window_ms. Whether this replica is the one to
 * reconsider an adaptive pace now: only while admitting, one replica per hold_ms, and only once the
 * reports hold min_count reservations or span max_window_ms (those reports are then taken).
 * → {target_ms|''} (nothing to judge) | {target_ms, rate, max_rate, cut_at|'', count, slow, nearly_slow}
 */
export const TAKE_LATENCY = `
local c = redis.call('HMGET', KEYS[1], 'target_ms', 'rate', 'max_rate', 'opens_at', 'closed', 'cut_at')
local target = c[1] or ''
if target == '' or c[5] == '1' then return {target} end
${NOW}
if now < tonumber(c[4]) then return {target} end
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return {target} end
local l = redis.call('HMGET', KEYS[2], 'count', 'slow', 'since', 'nearly_slow')
local count = tonumber(l[1]) or 0
if count < tonumber(ARGV[2]) and (not l[3] or now - tonumber(l[3]) < tonumber(ARGV[3])) then return {target} end
redis.call('DEL', KEYS[2])
return {target, c[2], c[3], c[6] or '', tostring(count), l[2] or '0', l[4] or '0'}
`;

/**
 * KEYS lat; ARGV ignore_ms. The pace just changed: the reports taken so far are dropped, and those sent
 * within ignore_ms from now too (they hold reservations made at the pace before).
 */
export const RESTART_LATENCY = `
${NOW}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ignore_until', now + tonumber(ARGV[1]))
return 1
`;

/** KEYS conf. Closes the queue for good (sold out): no admission and no join from now on. → 1 | 0 (no room) */
export const CLOSE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'closed', '1')
return 1
`;

/**
 * KEYS conf, q, adm.
 * → false | {rate, lead_ms, opens_at, base_at, base_count, closed, queued, admitted, now, target_ms|'', max_rate}
 */
export const ROOM = `
local c = redis.call('HMGET', KEYS[1], 'rate', 'lead_ms', 'opens_at', 'base_at', 'base_count', 'closed',
  'target_ms', 'max_rate')
if not c[1] then return false end
${NOW}
return {c[1], c[2], c[3], c[4], c[5], c[6], redis.call('ZCARD', KEYS[2]), redis.call('HLEN', KEYS[3]), tostring(now),
  c[7] or '', c[8] or c[1]}
`;
