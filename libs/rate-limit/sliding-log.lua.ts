import { MAX_WINDOW_MS } from './rate-limit';

/**
 * sliding-log.ts in Lua, one atomic call for all the rules of one key (see there for why it is exact).
 *
 * KEYS[1]      string: `last` (the clamped clock), then per log in use under this key six numbers:
 *              its slot (bucket * MAX_WINDOW_MS + windowMs, see ruleSlot), total of its runs, time and
 *              count of its newest ("open") run, time and count of its oldest closed run (-1 when there
 *              is no such run), all space-separated
 * KEYS[1 + i]  list of rule i's closed runs, newest at the head, each 'recordTime:count'
 * ARGV[1]      how many requests this call decides (a batch, see below); 1 with a once-only key
 * ARGV[2]      the caller's clock in ms, or '' to read Redis TIME
 * ARGV[4i - 1], ARGV[4i], ARGV[4i + 1], ARGV[4i + 2]   slot, windowMs, limit, quantum of rule i
 * KEYS[n + 2], ARGV[4n + 3]   optional: a once-only key and its TTL in ms (a request's signature):
 *              when the key exists the call answers { -1 } and changes nothing, else it is SET before
 *              the rules are decided, so a replay is refused before it counts against any limit, in
 *              the same round trip as the decision. It carries the limiter key's hash tag (same slot).
 *
 * Returns { admitted, remaining_1, resetMs_1, ..., remaining_n, resetMs_n, retryAfterMs }, or
 * { -1 } when the once-only key was already there.
 *
 * A batch: `count` requests under the same key and rules, decided at one `now`, are decided as if
 * they arrived one after another in that millisecond: the first `admitted` = min(count, the least room
 * of any rule) are admitted and every rule counts them, the rest are refused and count nowhere. Being
 * the same as `count` single calls at the same clock reading, it keeps the exactness argument of
 * sliding-log.ts whole. The caller hands out the answers: request k (from 0) was admitted iff
 * k < admitted, and then had remaining_i + admitted - 1 - k left; resetMs and retryAfterMs are the
 * batch's (the same for each request of it: see RedisRateLimitStore).
 *
 * Cost: admissions pile onto the open run, which lives in the string; it is pushed onto the list only
 * when a later quantum opens a new run, and the list's tail is touched only when its oldest run expires,
 * both at most once per quantum. So the common call is TIME + GET + SET whatever the number of rules,
 * and a refusal that finds nothing expired is TIME + GET, read-only. (A hash with named fields measured
 * the same; one string carries its TTL in the same SET and never exists without one.)
 *
 * Expiry: a list expires with its newest closed run; the string, rewritten with PX on every write,
 * outlives every open run it holds (longest window plus its quantum), and drops the windows of other
 * rule sets once their newest run has expired. Should the string be lost anyway (eviction), a window's
 * state is rebuilt from its list, less the open run: at most one quantum's admissions are forgotten.
 *
 * TTLs run on Redis's own clock, and a key must not vanish while the decision clock still counts it.
 * With Redis TIME the decision clock (`now`, clamped to be monotonic) is never behind Redis's, so TTLs
 * are measured from the raw reading (`clock`): after a clock step back the clamp holds `now` ahead and
 * the keys live the longer for it. A caller's clock may lag Redis's (a replayed timeline stands still
 * while real time passes), so in that mode every TTL gets CALLER_CLOCK_TTL_SLACK_MS more.
 */
export const CALLER_CLOCK_TTL_SLACK_MS = 10_000;

export const SLIDING_LOG_LUA = `
local count = tonumber(ARGV[1])
local n = math.floor((#ARGV - 2) / 4)
if #KEYS == n + 2 then
  if not redis.call('SET', KEYS[n + 2], '1', 'PX', ARGV[4 * n + 3], 'NX') then return { -1 } end
end
local clock, slack
if ARGV[2] == '' then
  local t = redis.call('TIME')
  clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  slack = 0
else
  clock = tonumber(ARGV[2])
  slack = ${CALLER_CLOCK_TTL_SLACK_MS}
end

-- The state: 'last' then, per log seen under this key, 'slot total openAt openCount oldAt oldCount'
-- (-1 for an absent run), all space-separated. A slot's window is slot % MAX_WINDOW_MS.
local state = {}
local raw = redis.call('GET', KEYS[1])
if raw then
  for token in string.gmatch(raw, '%S+') do state[#state + 1] = tonumber(token) end
else
  state[1] = -1
end
local now = clock
if state[1] > now then now = state[1] end
local slot = {}
for j = 2, #state, 6 do slot[state[j]] = j end

local function parse(s)
  local p = string.find(s, ':', 1, true)
  return tonumber(string.sub(s, 1, p - 1)), tonumber(string.sub(s, p + 1))
end

local W, L, Q, J, touched = {}, {}, {}, {}, {}
local dirty = not raw
local admitted = count
for i = 1, n do
  local key = KEYS[i + 1]
  local id = tonumber(ARGV[4 * i - 1])
  local w = tonumber(ARGV[4 * i])
  W[i], L[i], Q[i] = w, tonumber(ARGV[4 * i + 1]), tonumber(ARGV[4 * i + 2])
  local j = slot[id]
  if not j then
    -- No state for this log: new, or the state was lost. Rebuild it from the closed runs.
    j = #state + 1
    slot[id] = j
    local sum, ea, en = 0, -1, -1
    local runs = redis.call('LRANGE', key, 0, -1)
    for k = 1, #runs do
      local _, c = parse(runs[k])
      sum = sum + c
    end
    if #runs > 0 then ea, en = parse(runs[#runs]) end
    state[j], state[j + 1], state[j + 2], state[j + 3], state[j + 4], state[j + 5] = id, sum, -1, 0, ea, en
    dirty = true
  end
  J[i] = j
  touched[j] = true
  local sum, oa, on, ea, en = state[j + 1], state[j + 2], state[j + 3], state[j + 4], state[j + 5]
  local cutoff = now - w
  while ea >= 0 and ea <= cutoff do
    local popped = redis.call('RPOP', key)
    if popped then
      local _, c = parse(popped)
      sum = sum - c
    end
    local nextRun = redis.call('LINDEX', key, -1)
    if nextRun then ea, en = parse(nextRun) else ea, en = -1, -1 end
    dirty = true
  end
  if oa >= 0 and oa <= cutoff then
    oa, on = -1, 0
    dirty = true
  end
  if ea < 0 and sum ~= on then
    -- No closed run counts (or the list is gone): the open run is all there is.
    sum = on
    dirty = true
  end
  state[j + 1], state[j + 2], state[j + 3], state[j + 4], state[j + 5] = sum, oa, on, ea, en
  if L[i] - sum < admitted then admitted = L[i] - sum end
end

if admitted < 0 then admitted = 0 end

if admitted > 0 then
  for i = 1, n do
    local j = J[i]
    local at = math.ceil(now / Q[i]) * Q[i]
    if state[j + 2] == at then
      state[j + 3] = state[j + 3] + admitted
    else
      if state[j + 2] >= 0 then
        local key = KEYS[i + 1]
        redis.call('LPUSH', key, string.format('%d:%d', state[j + 2], state[j + 3]))
        redis.call('PEXPIRE', key, state[j + 2] + W[i] - clock + slack)
        if state[j + 4] < 0 then state[j + 4], state[j + 5] = state[j + 2], state[j + 3] end
      end
      state[j + 2], state[j + 3] = at, admitted
    end
    state[j + 1] = state[j + 1] + admitted
  end
  dirty = true
end

if dirty then
  -- Keeps the windows of this call, and those of other rule sets on this key until their newest run
  -- expires; lives as long as the longest of them can still need it.
  local out, ttl = { string.format('%d', now) }, 0
  for j = 2, #state, 6 do
    local w = state[j] % ${MAX_WINDOW_MS}
    if touched[j] or (state[j + 2] >= 0 and state[j + 2] + w > now) then
      for k = j, j + 5 do out[#out + 1] = string.format('%d', state[k]) end
      local life = w + math.max(1, math.floor(w / 1000))
      if life > ttl then ttl = life end
    end
  end
  redis.call('SET', KEYS[1], table.concat(out, ' '), 'PX', ttl + now - clock + slack)
end

local out = { admitted }
local retry = 0
for i = 1, n do
  local j = J[i]
  local sum, oa, on, ea, en = state[j + 1], state[j + 2], state[j + 3], state[j + 4], state[j + 5]
  local remaining = L[i] - sum
  if remaining < 0 then remaining = 0 end
  local reset = 0
  if sum > 0 then
    local mustExpire = 1
    if sum >= L[i] then mustExpire = sum - L[i] + 1 end
    local firstAt, firstN = ea, en
    if firstAt < 0 then firstAt, firstN = oa, on end
    if firstN >= mustExpire then
      reset = firstAt + W[i] - now
    else
      -- Only when a lowered limit leaves more than one run over it: walk the runs oldest first.
      local runs = redis.call('LRANGE', KEYS[i + 1], 0, -1)
      if oa >= 0 then runs[0] = string.format('%d:%d', oa, on) end
      local expired = 0
      reset = W[i]
      for k = #runs, 0, -1 do
        if runs[k] then
          local at, c = parse(runs[k])
          expired = expired + c
          if expired >= mustExpire then
            reset = at + W[i] - now
            break
          end
        end
      end
    end
    if admitted < count and sum >= L[i] and reset > retry then retry = reset end
  end
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
out[#out + 1] = retry
return out
`;
