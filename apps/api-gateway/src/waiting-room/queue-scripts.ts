/**
 * The waiting room's atomic steps, as Lua run inside Redis (one event's keys each; every time is Redis's
 * clock, `TIME`, so gateway replicas with different clocks agree). The decisions they apply are stated in
 * queue-rules.ts; where a script repeats one (placing an arrival), the comment names it.
 *
 * Keys of event E, under the gateway's prefix: `wr:{E}:conf` (hash: rate, lead_ms, opens_at, base_at,
 * base_count, closed, version), `wr:{E}:q` (sorted set: user → score), `wr:{E}:seq` (arrival counter),
 * `wr:{E}:adm` (hash: user → "jti|expires_at"), `wr:{E}:tok` (hash: jti → issued | claimed:<ms> | used);
 * `wr:rooms` (set of the events with a waiting room).
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
 * KEYS conf, adm, tok; ARGV user, jti, expires_at. Records the one admission a place ever gets (a second
 * call returns the first); none once the queue is closed or gone.
 * → {'off'} | {'closed'} | {'admitted', 'jti|expires_at'}
 */
export const ADMIT = `
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then return {'off'} end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {'admitted', existing} end
if closed == '1' then return {'closed'} end
local record = ARGV[2] .. '|' .. ARGV[3]
redis.call('HSET', KEYS[2], ARGV[1], record)
redis.call('HSET', KEYS[3], ARGV[2], 'issued')
return {'admitted', record}
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

/** KEYS tok; ARGV jti, 'used' | 'issued'. Ends a claim: used by a reservation, or given back after a refusal. */
export const SETTLE = `
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state and string.sub(state, 1, 8) == 'claimed:' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

/** KEYS conf. → false | {rate, lead_ms, opens_at, base_at, base_count, closed, version, now} */
export const READ_CONF = `
local c = redis.call('HMGET', KEYS[1], 'rate', 'lead_ms', 'opens_at', 'base_at', 'base_count', 'closed', 'version')
${NOW}
if not c[1] then return {false, tostring(now)} end
return {c[1], c[2], c[3], c[4], c[5], c[6], c[7], tostring(now)}
`;

/**
 * KEYS conf, rooms; ARGV event id, expected version ('' for a new room), rate, lead_ms, opens_at, base_at,
 * base_count. Writes a pace decided in code (`repaced`) unless the room changed since it was read.
 * → 1 | 0 (changed meanwhile: read again)
 */
export const WRITE_CONF = `
local version = redis.call('HGET', KEYS[1], 'version') or ''
if version ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'rate', ARGV[3], 'lead_ms', ARGV[4], 'opens_at', ARGV[5], 'base_at', ARGV[6],
  'base_count', ARGV[7], 'version', (tonumber(version) or 0) + 1)
if version == '' then redis.call('HSET', KEYS[1], 'closed', '0') end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;

/** KEYS conf. Closes the queue for good (sold out): no admission and no join from now on. → 1 | 0 (no room) */
export const CLOSE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'closed', '1')
return 1
`;

/** KEYS conf, q, adm. → false | {rate, lead_ms, opens_at, base_at, base_count, closed, queued, admitted, now} */
export const ROOM = `
local c = redis.call('HMGET', KEYS[1], 'rate', 'lead_ms', 'opens_at', 'base_at', 'base_count', 'closed')
if not c[1] then return false end
${NOW}
return {c[1], c[2], c[3], c[4], c[5], c[6], redis.call('ZCARD', KEYS[2]), redis.call('HLEN', KEYS[3]), tostring(now)}
`;
