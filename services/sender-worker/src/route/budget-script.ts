// The Lua that decides a whole claim batch in one round trip (ADR 0019 "Budgets"). Kept as a
// string so the bundle needs no loader; budgets.ts encodes its input and decodes its reply.
//
// KEYS[1] is the base `<prefix>:budget:{fleet}`; every key is built from it, so all of them
// share its hash slot. State keys also carry the generation (the sentinel's value): when the
// sentinel is lost, keys written before the loss (or rebuilt from a read made before it) are
// ignored, never trusted.
//   <base>:sentinel                    generation = settle end (epoch ms); no TTL
//   <base>:<gen>:rate:<sender>         GCRA theoretical arrival time (ms)
//   <base>:<gen>:day:<YYYY-MM-DD>:<s>  attempts begun that UTC day
//   <base>:<gen>:month:<YYYY-MM>:<s>   set of recipients that UTC month, plus the member "~"
//                                      so that "no recipient yet" still exists as a key
//   <base>:<gen>:book:<message>        "<sender>|<slot>|<day>": a booked slot
//   <base>:throttle:<account>          throttled until (epoch ms)
//   <base>:rr                          round-robin counter for ties
//
// ARGV[1] is JSON: { now, day, month, nextDay, nextMonth, settleMs, horizon, bookTtl,
// senders: [[id, account, rate, dailyCap, monthlyCap]] (-1 = no limit),
// requests: [[messageId, recipient, preferFirst (0|1), [sender index (1-based)...]]] }.
//
// Reply: {1, settleEnd} while settling; {2, gen, senderId, "day"|"month", ...} when keys must be
// rebuilt first (nothing was decided or spent); else {0, gen, then per request three fields}:
//   0, sender, day     granted (the day whose counter was charged)
//   1|2|3, 0, retryAt  wait rate_limited | daily_cap | monthly_cap
//   4, sender, slot    wait rate_limited, booked on that sender (a slot is booked only within
//                      `horizon` and before nextDay and nextMonth)
export const DECIDE_SCRIPT = `
local base = KEYS[1]
local a = cjson.decode(ARGV[1])
local now = a.now
local HUGE = math.huge

local sentinel = base .. ':sentinel'
local gen = redis.call('get', sentinel)
if not gen then
  gen = string.format('%.0f', now + a.settleMs)
  redis.call('set', sentinel, gen)
end
if tonumber(gen) > now then return {1, tonumber(gen)} end

local g = base .. ':' .. gen
local rrKey = base .. ':rr'
local function rateKey(id) return g .. ':rate:' .. id end
local function dayKey(id) return g .. ':day:' .. a.day .. ':' .. id end
local function monthKey(id) return g .. ':month:' .. a.month .. ':' .. id end
local function bookKey(id) return g .. ':book:' .. id end

-- Each sender's state, read once. A null cap drops its key: if a cap appears later, the key
-- is rebuilt from Postgres rather than trusted with a count that stopped while it was off.
local S = {}
local missing = {}
for i, s in ipairs(a.senders) do
  local st = { id = s[1], account = s[2], rate = s[3], dcap = s[4], mcap = s[5], members = {} }
  if st.rate > 0 then
    st.T = 60000 / st.rate
    st.tau = (math.max(1, math.floor(st.rate / 30)) - 1) * st.T
    st.tat = math.max(tonumber(redis.call('get', rateKey(st.id)) or '0'), now)
  end
  if st.dcap >= 0 then
    local d = redis.call('get', dayKey(st.id))
    if d then st.used = tonumber(d) else table.insert(missing, st.id); table.insert(missing, 'day') end
  else
    redis.call('del', dayKey(st.id))
  end
  if st.mcap >= 0 then
    local n = redis.call('scard', monthKey(st.id))
    if n > 0 then st.uniq = n - 1 else table.insert(missing, st.id); table.insert(missing, 'month') end
  else
    redis.call('unlink', monthKey(st.id))
  end
  S[i] = st
end
if #missing > 0 then
  local out = {2, gen}
  for _, v in ipairs(missing) do table.insert(out, v) end
  return out
end

local throttles = {}
local function throttledUntil(account)
  local t = throttles[account]
  if t == nil then
    t = tonumber(redis.call('get', base .. ':throttle:' .. account) or '0')
    if t <= now then t = 0 end
    throttles[account] = t
  end
  return t
end

local function tokens(st)
  if st.rate <= 0 then return HUGE end
  if st.tat - now > st.tau then return 0 end
  return math.floor((now + st.tau - st.tat) / st.T + 1e-9) + 1
end
local function dayLeft(st) if st.dcap < 0 then return HUGE end return st.dcap - st.used end
local function monthLeft(st) if st.mcap < 0 then return HUGE end return st.mcap - st.uniq end
-- A recipient already in this month's set costs nothing, even at the cap.
local function monthOk(st, to)
  if st.mcap < 0 or st.uniq < st.mcap then return true end
  local m = st.members[to]
  if m == nil then
    m = redis.call('sismember', monthKey(st.id), to) == 1
    st.members[to] = m
  end
  return m
end
local function spend(st, to)
  if st.rate > 0 then st.tat = st.tat + st.T; st.rateDirty = true end
  if st.dcap >= 0 then st.used = st.used + 1; redis.call('incr', dayKey(st.id)) end
  if st.mcap >= 0 then
    if redis.call('sadd', monthKey(st.id), to) == 1 then st.uniq = st.uniq + 1 end
    st.members[to] = true
  end
end
-- Most headroom first: rate tokens now, then daily budget left, then monthly budget left.
local function compare(x, y)
  if x.tk ~= y.tk then return x.tk > y.tk and 1 or -1 end
  if x.dl ~= y.dl then return x.dl > y.dl and 1 or -1 end
  if x.ml ~= y.ml then return x.ml > y.ml and 1 or -1 end
  return 0
end

local rr = tonumber(redis.call('get', rrKey) or '0')
local rrUsed = false
local out = {0, gen}
for _, r in ipairs(a.requests) do
  local mid, to, preferFirst, cands = r[1], r[2], r[3] == 1, r[4]
  local done = false

  -- A booked slot is honoured without spending again, while its sender is still a candidate
  -- and the UTC day it charged is still today: a job that runs past midnight decides afresh
  -- against the new day's counter (the old day's charge stays spent: under-spend).
  local bk = redis.call('get', bookKey(mid))
  if bk then
    local sid, slot, day = string.match(bk, '^([^|]+)|([^|]+)|([^|]+)$')
    slot = tonumber(slot)
    for _, ci in ipairs(day == a.day and cands or {}) do
      local st = S[ci]
      if st.id == sid and throttledUntil(st.account) == 0 then
        if now >= slot then
          redis.call('del', bookKey(mid))
          table.insert(out, 0); table.insert(out, ci); table.insert(out, day)
        else
          table.insert(out, 4); table.insert(out, ci); table.insert(out, slot)
        end
        done = true
        break
      end
    end
    -- Its sender is gone (or its account throttled, or its day over): what it took stays spent
    -- (under-spend).
    if not done then redis.call('del', bookKey(mid)) end
  end

  if not done then
    local grantable, first, bookable, blocked = {}, nil, nil, nil
    for pos, ci in ipairs(cands) do
      local st = S[ci]
      local th = throttledUntil(st.account)
      local block
      if th > 0 then
        block = { rank = 1, at = th }
      elseif not monthOk(st, to) then
        block = { rank = 3, at = a.nextMonth }
      elseif dayLeft(st) < 1 then
        block = { rank = 2, at = a.nextDay }
      else
        local tk = tokens(st)
        if tk >= 1 then
          local c = { ci = ci, tk = tk, dl = dayLeft(st), ml = monthLeft(st) }
          table.insert(grantable, c)
          if pos == 1 then first = c end
        else
          local slot = math.ceil(st.tat - st.tau)
          -- Never book into the next UTC day (or month): the booking charges today's counter
          -- and this month's set, which the new period's keys would never see.
          if slot - now <= a.horizon and slot < a.nextDay and slot < a.nextMonth then
            if bookable == nil or slot < bookable.slot then bookable = { ci = ci, slot = slot } end
          else
            block = { rank = 1, at = slot }
          end
        end
      end
      if block and (blocked == nil or block.rank < blocked.rank or (block.rank == blocked.rank and block.at < blocked.at)) then
        blocked = block
      end
    end

    local chosen = nil
    if preferFirst and first then
      chosen = first
    elseif #grantable > 0 then
      local ties = { grantable[1] }
      for k = 2, #grantable do
        local c = compare(grantable[k], ties[1])
        if c > 0 then ties = { grantable[k] } elseif c == 0 then table.insert(ties, grantable[k]) end
      end
      if #ties > 1 then
        chosen = ties[(rr % #ties) + 1]
        rr = rr + 1
        rrUsed = true
      else
        chosen = ties[1]
      end
    end

    if chosen then
      spend(S[chosen.ci], to)
      table.insert(out, 0); table.insert(out, chosen.ci); table.insert(out, a.day)
    elseif bookable then
      local st = S[bookable.ci]
      spend(st, to)
      redis.call('set', bookKey(mid), st.id .. '|' .. string.format('%.0f', bookable.slot) .. '|' .. a.day, 'PX', a.bookTtl)
      table.insert(out, 4); table.insert(out, bookable.ci); table.insert(out, bookable.slot)
    else
      table.insert(out, blocked.rank); table.insert(out, 0); table.insert(out, math.ceil(blocked.at))
    end
  end
end

for _, st in ipairs(S) do
  if st.rateDirty then
    -- Outlives the schedule it holds by a minute; once past, a missing key reads as "now".
    redis.call('set', rateKey(st.id), string.format('%.17g', st.tat), 'PX', math.ceil(st.tat - now) + 60000)
  end
end
if rrUsed then redis.call('set', rrKey, rr) end
return out
`;

// Gives back what grants took (budgets.ts knows the keys and the emission interval of each).
// ARGV[1] = now, then per grant: rate key, emission interval (ms, 0 = no rate), day key.
export const RELEASE_SCRIPT = `
local now = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  local rk, T, dk = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if T > 0 then
    local tat = tonumber(redis.call('get', rk) or '0')
    if tat > now then
      redis.call('set', rk, string.format('%.17g', math.max(tat - T, now)), 'KEEPTTL')
    end
  end
  local d = tonumber(redis.call('get', dk) or '0')
  if d > 0 then redis.call('decr', dk) end
end
return 0
`;
