-- `sugang bench rush --driver wrk`: wrk (https://github.com/wg/wrk, Debian's package) sends a
-- fixed plan of enroll attempts once, as fast as its connections allow, and stops by itself.
--
--   wrk -t T -c C -d LIMIT -s rush.lua URL -- PLAN OUT T
--
-- PLAN holds one attempt a line: section id, bearer token and (in rush mode) the admission
-- pass, separated by tabs. Thread i sends lines i, i+T, i+2T, ... Every answer is counted by
-- status and refusal code and by the second it arrived in; the enrollment id of every 201 is
-- written to OUT.<thread> for the audit, and OUT.<thread>.done marks a thread's last answer:
-- wrk runs for its whole -d however early its threads stop, so the bench waits for every
-- thread's mark and then ends wrk with SIGINT. done() prints one JSON object on stdout.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local plan, out, count = args[1], args[2], tonumber(args[3])
  pending = {}
  local index = 0
  for line in io.lines(plan) do
    if index % count == id then
      local section, token, admission = line:match("^(%d+)\t([^\t]+)\t?([^\t]*)$")
      local headers = {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
      }
      if admission ~= "" then
        headers["X-Admission-Token"] = admission
      end
      pending[#pending + 1] =
        wrk.format("POST", "/api/v1/enrollments", headers, '{"section_id":' .. section .. "}")
    end
    index = index + 1
  end
  planned = #pending
  sent = 0
  answered = 0
  -- wrk asks thread 0's script for one request to check it, before the thread runs: that
  -- call must not use up an attempt.
  checked = id ~= 0
  outcomes = {}
  per_second = {}
  enrolled = assert(io.open(out .. "." .. id, "w"))
  -- Asked for once the plan is used up while the last answers are still on their way.
  idle = wrk.format("GET", "/healthz")
  finished = out .. "." .. id .. ".done"
  if planned == 0 then
    finish()
  end
end

function finish()
  enrolled:close()
  assert(io.open(finished, "w")):close()
  wrk.thread:stop()
end

function delay()
  if sent >= planned then
    return 1000
  end
  return 0
end

function request()
  if not checked then
    checked = true
    return pending[1] or idle
  end
  if sent >= planned then
    return idle
  end
  sent = sent + 1
  return pending[sent]
end

function response(status, headers, body)
  if status == 200 then
    return -- an idle request's answer (an enroll attempt never answers 200)
  end
  answered = answered + 1
  local key = tostring(status)
  if status == 201 then
    local enrollment = body:match('"enrollment_id"%s*:%s*(%d+)')
    if enrollment then
      enrolled:write(enrollment, "\n")
    end
  elseif status >= 400 then
    key = key .. " " .. (body:match('"code"%s*:%s*"([%w_]+)"') or "")
  end
  outcomes[key] = (outcomes[key] or 0) + 1
  -- flat, string keys: wrk copies a thread's tables for done(), and fails on nested ones
  local second = os.time() .. " " .. status
  per_second[second] = (per_second[second] or 0) + 1
  if answered == planned then
    finish()
  end
end

local function quote(value)
  return '"' .. tostring(value) .. '"'
end

local function object(tbl, encode)
  local parts = {}
  for key, value in pairs(tbl) do
    parts[#parts + 1] = quote(key) .. ":" .. encode(value)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local outcomes_all, seconds_all, answered_all, planned_all = {}, {}, 0, 0
  for _, thread in ipairs(threads) do
    answered_all = answered_all + thread:get("answered")
    planned_all = planned_all + thread:get("planned")
    for key, n in pairs(thread:get("outcomes")) do
      outcomes_all[key] = (outcomes_all[key] or 0) + n
    end
    for key, n in pairs(thread:get("per_second")) do
      seconds_all[key] = (seconds_all[key] or 0) + n
    end
  end
  local quantiles = {}
  for _, q in ipairs({ 50, 95, 99 }) do
    quantiles["p" .. q] = latency:percentile(q) / 1000
  end
  quantiles["max"] = latency.max / 1000
  local errors = summary.errors
  io.write(
    "{",
    '"planned":', planned_all, ",",
    '"answered":', answered_all, ",",
    '"requests":', summary.requests, ",",
    '"duration_us":', summary.duration, ",",
    '"latency_ms":', object(quantiles, tostring), ",",
    '"socket_errors":', object({
      connect = errors.connect,
      read = errors.read,
      write = errors.write,
      timeout = errors.timeout,
    }, tostring), ",",
    '"outcomes":', object(outcomes_all, tostring), ",",
    '"per_second":', object(seconds_all, tostring),
    "}\n"
  )
end
