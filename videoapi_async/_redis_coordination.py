"""`RedisCoordination`: the `Coordination` protocol on Redis (or Valkey) 7 and later.

What lives in Redis, under a namespace (``videoapi`` by default)::

    <ns>:lease:<video id>   the replica polling that video (its random token), PX lease_time;
                            ``*list-poll*`` in place of the id: the replica listing for all
    <ns>:state:<video id>   the video's latest published state (JSON), PX state_ttl
    <ns>:limit              after a 429: the rate all replicas draw from (a token bucket
                            whose rate climbs back linearly); gone two recovery times on
    <ns>:limit-generation   counts the cuts of that rate
    <ns>:replicas           the replicas present: a sorted set of tokens, each scored with
                            the server time (ms) at which it lapses unless refreshed
    <ns>:news               the pub/sub channel: states, webhook events, cuts of the rate,
                            the count of replicas present when it changes

Leases are taken and renewed by Lua scripts (one round trip for many videos, atomic per
call); a replica renews the leases it holds, and its own presence, every third of
`lease_time`, so a lease only lapses when its holder stops, and a replica's presence two
thirds of `lease_time` after it stops. One background task listens on the channel and reconnects
when the connection breaks; another renews leases. The shared rate lives in scripts too,
timed by the Redis server's clock, so that replicas on other machines agree on it.

Every Redis error is raised as `CoordinationUnavailable`; the client then polls alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ._coordination import Claim, CoordinationListener, CoordinationUnavailable, SharedLimit
from .validators import check_seconds

__all__ = ["RedisCoordination"]

logger: Final = logging.getLogger("videoapi_async")

_CHUNK: Final = 500  # videos per script call: keeps each atomic step short
_RECONNECT_MIN: Final = 0.1
_RECONNECT_MAX: Final = 2.0
_LISTEN_POLL: Final = 1.0  # seconds a listener waits for a message before looking up

# KEYS: n lease keys, then their n state keys. ARGV: token, lease ms.
# Returns held (0/1), ms left on another's lease, latest state (or nil) per video.
_CLAIM: Final = """
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local holder = redis.call('GET', KEYS[i])
  if (not holder) or holder == ARGV[1] then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    out[#out + 1] = 1
    out[#out + 1] = 0
  else
    out[#out + 1] = 0
    out[#out + 1] = redis.call('PTTL', KEYS[i])
  end
  out[#out + 1] = redis.call('GET', KEYS[n + i])
end
return out
"""

# KEYS: lease keys. ARGV: token, lease ms. Renews ours; returns the indexes (1-based) lost.
_RENEW: Final = """
local lost = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  else
    lost[#lost + 1] = i
  end
end
return lost
"""

# KEYS: lease keys. ARGV: token. Deletes the ones we hold.
_RELEASE: Final = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
return 0
"""


# KEYS: the replicas' sorted set. ARGV: token, ms until this replica lapses ('0': it
# leaves), channel. Drops the lapsed, adds (or removes) this one, publishes the count when
# it changed, and returns it.
_PRESENCE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
local count = redis.call('ZCARD', KEYS[1])
if count > 0 then
  redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
end
if count ~= before then
  redis.call('PUBLISH', ARGV[3], cjson.encode({from = ARGV[1], replicas = count}))
end
return count
"""


# The shared rate limit, a hash; times in ms of the server's clock. Used by the scripts below.
_LIMIT: Final = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local FIELDS = {'gen', 'reduced', 'ceiling', 'cut_at', 'recovery', 'paused_until', 'tokens',
  'updated', 'burst'}
local function load(key)
  local v = redis.call('HMGET', key, unpack(FIELDS))
  if not v[1] then return nil end
  local s = {}
  for i, name in ipairs(FIELDS) do s[name] = tonumber(v[i]) end
  return s
end
local function save(key, s, now)
  local flat = {}
  for _, name in ipairs(FIELDS) do
    flat[#flat + 1] = name
    flat[#flat + 1] = tostring(s[name])
  end
  redis.call('HSET', key, unpack(flat))
  redis.call('PEXPIRE', key, math.max(s.cut_at + 2 * s.recovery, s.paused_until) - now + 1)
end
-- The rate climbs to the ceiling in one recovery time, and on at that pace for another.
local function rate(s, now)
  local span = now - s.cut_at
  if span >= 2 * s.recovery then return nil end
  return s.reduced + (s.ceiling - s.reduced) * span / s.recovery
end
local function view(s, now)
  local paused = math.max(s.paused_until - now, 0)
  return {generation = s.gen, reduced = s.reduced, ceiling = s.ceiling,
    elapsed = (now - s.cut_at) / 1000, recovery = s.recovery / 1000,
    remaining = math.max(s.cut_at + 2 * s.recovery - now, paused, 0) / 1000,
    paused_for = paused / 1000}
end
"""

# KEYS: limit, generation counter, replicas. ARGV: token, channel, generation known, own rate ('' if
# unknown), Retry-After ms ('' if none), factor, min rate, burst, recovery ms.
# Cuts the rate (or, if another replica cut since, extends only the pause), publishes the
# limit in force and returns it as JSON; nil when no rate could be told.
_CUT: Final = (
    _LIMIT
    + """
local now = now_ms()
local s = load(KEYS[1])
if s and rate(s, now) == nil and now >= s.paused_until then s = nil end
local pause_until = now
if ARGV[5] ~= '' then pause_until = now + tonumber(ARGV[5]) end
if s and s.gen > tonumber(ARGV[3]) then
  if pause_until <= s.paused_until then return cjson.encode(view(s, now)) end
  s.paused_until = pause_until
else
  local base
  if s then
    base = rate(s, now) or s.ceiling
  elseif ARGV[4] ~= '' then
    local replicas = redis.call('ZCOUNT', KEYS[3], now, '+inf')
    base = tonumber(ARGV[4]) * math.max(tonumber(replicas), 1)
  else
    return nil
  end
  local reduced = math.max(tonumber(ARGV[7]), base * tonumber(ARGV[6]))
  s = {gen = redis.call('INCR', KEYS[2]), reduced = reduced, ceiling = math.max(base, reduced),
    cut_at = now, recovery = tonumber(ARGV[9]),
    paused_until = math.max(pause_until, s and s.paused_until or 0),
    tokens = 0, updated = now, burst = tonumber(ARGV[8])}
end
save(KEYS[1], s, now)
local limit = view(s, now)
redis.call('PUBLISH', ARGV[2], cjson.encode({from = ARGV[1], limit = limit}))
return cjson.encode(limit)
"""
)

# KEYS: limit. Takes a slot: returns 0, the ms to wait first, or -1 when no limit is in force.
_TAKE: Final = (
    _LIMIT
    + """
local now = now_ms()
local s = load(KEYS[1])
if not s then return -1 end
if now < s.paused_until then return s.paused_until - now end
local r = rate(s, now)
if r == nil then
  redis.call('DEL', KEYS[1])
  return -1
end
local tokens = math.min(s.burst, s.tokens + (now - s.updated) * r / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / r)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
return wait
"""
)

# KEYS: limit. Returns the limit in force as JSON, or nil.
_PEEK: Final = (
    _LIMIT
    + """
local now = now_ms()
local s = load(KEYS[1])
if not s or (rate(s, now) == nil and now >= s.paused_until) then return nil end
return cjson.encode(view(s, now))
"""
)


class RedisCoordination:
    """Share leases, states and back-off between replicas through one Redis (or Valkey).

    Needs the ``redis`` extra (``pip install 'videoapi-async[redis]'``) and Redis or
    Valkey 7 or later; a single server or a primary with replicas (not a cluster).

    Args:
        url: A ``redis://`` (or ``rediss://``, ``unix://``) URL, or a
            ``redis.asyncio.Redis`` client of your own, which is then never closed here.
        namespace: The prefix of every key and of the channel. Replicas share what is
            under one namespace: use one per API key (back-off is per key).
        lease_time: Seconds a polling lease lasts unless renewed: how long videos go
            unpolled after their poller dies, at most.
        state_ttl: Seconds a published state (a final one included) is kept, for waits
            that start later.
        timeout: Seconds any one Redis call may take before Redis counts as unreachable.
    """

    def __init__(
        self,
        url: str | aioredis.Redis = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "videoapi",
        lease_time: float = 5.0,
        state_ttl: float = 3600.0,
        timeout: float = 1.0,
    ) -> None:
        if not isinstance(namespace, str) or not namespace or any(c.isspace() for c in namespace):
            raise ValueError(
                f"namespace must be a non-empty string without spaces, got {namespace!r}"
            )
        self.lease_time = check_seconds(lease_time, "lease_time")
        self.state_ttl = check_seconds(state_ttl, "state_ttl")
        self.timeout = check_seconds(timeout, "timeout")
        if isinstance(url, str):
            self._redis: aioredis.Redis = aioredis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            self._owns_redis = True
        elif isinstance(url, aioredis.Redis):
            self._redis, self._owns_redis = url, False
        else:
            raise TypeError(
                f"url must be a redis:// URL or a redis.asyncio.Redis, got {type(url).__name__}"
            )
        self.namespace = namespace
        self.token = secrets.token_hex(8)
        """This replica's identity in leases and messages (random, per instance)."""
        self._channel = f"{namespace}:news"
        self._claim = self._redis.register_script(_CLAIM)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._cut = self._redis.register_script(_CUT)
        self._take = self._redis.register_script(_TAKE)
        self._peek = self._redis.register_script(_PEEK)
        self._presence = self._redis.register_script(_PRESENCE)
        self._replicas_key = f"{namespace}:replicas"
        self._limit_keys = [f"{namespace}:limit", f"{namespace}:limit-generation"]
        self._held: set[str] = set()
        self._listener: CoordinationListener | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<RedisCoordination namespace={self.namespace!r} lease_time={self.lease_time:g}"
            f"{' closed' if self._closed else ''}>"
        )

    def _lease_key(self, video_id: str) -> str:
        return f"{self.namespace}:lease:{video_id}"

    def _state_key(self, video_id: str) -> str:
        return f"{self.namespace}:state:{video_id}"

    @property
    def held(self) -> frozenset[str]:
        """The videos whose lease this replica holds."""
        return frozenset(self._held)

    # --- lifetime -----------------------------------------------------------------------

    async def start(self, listener: CoordinationListener) -> None:
        """Start listening for the other replicas' news and renewing leases.

        Waits (up to `timeout`) until the subscription is in place, so that nothing
        published after this returns is missed, then joins the replicas present (telling
        the others) and hands their count, and a shared rate limit already in force, to
        the listener; an unreachable Redis does not fail it.
        """
        if self._listener is not None:
            raise RuntimeError("this RedisCoordination is already started; use one per client")
        self._listener = listener
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name="videoapi_async-redis-listen"),
            loop.create_task(self._keep_leases(), name="videoapi_async-redis-leases"),
        ]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), self.timeout)
        await self._be_present()
        with contextlib.suppress(CoordinationUnavailable):
            limit = await self._call(self._peek(keys=self._limit_keys[:1]))
            if limit is not None:
                listener.on_limit(_shared_limit(limit))

    async def aclose(self) -> None:
        """Release the leases held, stop the background tasks and close what was opened."""
        if self._closed:
            return
        self._closed = True  # the tasks end on this even if a cancellation is swallowed
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        held, self._held = list(self._held), set()
        with contextlib.suppress(CoordinationUnavailable):
            if self._listener is not None:  # leave: the others take this one's share
                await self._call(self._presence(keys=[self._replicas_key], args=self._here(0)))
            if held:
                await self._call(
                    self._release(keys=[self._lease_key(v) for v in held], args=[self.token])
                )
        if self._owns_redis:
            await self._redis.aclose()

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise CoordinationUnavailable(
                f"Redis did not answer: {type(exc).__name__}: {exc}"
            ) from exc

    # --- leases -------------------------------------------------------------------------

    async def claim(self, video_ids: Sequence[str]) -> list[Claim]:
        """Take or renew the lease on each video when it is free or ours."""
        claims: list[Claim] = []
        lease_ms = str(round(self.lease_time * 1000))
        for start in range(0, len(video_ids), _CHUNK):
            chunk = video_ids[start : start + _CHUNK]
            keys = [self._lease_key(v) for v in chunk] + [self._state_key(v) for v in chunk]
            reply = await self._call(self._claim(keys=keys, args=[self.token, lease_ms]))
            for index, video_id in enumerate(chunk):
                held, left, state = reply[3 * index : 3 * index + 3]
                if held:
                    self._held.add(video_id)
                    claims.append(Claim(True, _text(state)))
                else:
                    self._held.discard(video_id)
                    claims.append(Claim(False, _text(state), max(int(left), 0) / 1000))
        return claims

    def _here(self, lapse_ms: int) -> list[str]:
        return [self.token, str(lapse_ms), self._channel]

    async def _be_present(self) -> None:
        """Refresh this replica's presence and hand the count to the listener.

        The presence lapses two thirds of `lease_time` after the last refresh: one
        refresh may come late, and a dead replica's share goes back to the others
        within `lease_time`. When Redis does not answer, the count is None.
        """
        listener = self._listener
        if listener is None or self._closed:
            return
        lapse_ms = max(round(self.lease_time * 2000 / 3), 1)
        try:
            count = await self._call(
                self._presence(keys=[self._replicas_key], args=self._here(lapse_ms))
            )
        except CoordinationUnavailable as exc:
            logger.debug("could not refresh this replica's presence: %s", exc)
            listener.on_replicas(None)
        else:
            listener.on_replicas(int(count))

    async def _keep_leases(self) -> None:
        """Every third of the lease time: be present, renew the leases still wanted."""
        while not self._closed:
            await asyncio.sleep(self.lease_time / 3)
            await self._be_present()
            listener = self._listener
            if not self._held or listener is None:
                continue
            wanted = [v for v in self._held if listener.wants(v)]
            dropped = [v for v in self._held if v not in set(wanted)]
            try:
                if dropped:
                    self._held.difference_update(dropped)
                    await self._call(
                        self._release(keys=[self._lease_key(v) for v in dropped], args=[self.token])
                    )
                lease_ms = str(round(self.lease_time * 1000))
                for start in range(0, len(wanted), _CHUNK):
                    chunk = wanted[start : start + _CHUNK]
                    lost = await self._call(
                        self._renew(
                            keys=[self._lease_key(v) for v in chunk], args=[self.token, lease_ms]
                        )
                    )
                    for index in lost:
                        self._held.discard(chunk[int(index) - 1])
            except CoordinationUnavailable as exc:
                # The next claim reports the outage; leases are claimed afresh after it.
                logger.debug("could not renew polling leases: %s", exc)

    # --- news ---------------------------------------------------------------------------

    async def publish_states(self, states: Sequence[tuple[str, str]]) -> None:
        """Store each state for `state_ttl` seconds and send them all in one message."""
        if not states:
            return
        ttl_ms = round(self.state_ttl * 1000)
        message = json.dumps({"from": self.token, "states": list(states)})
        async with self._redis.pipeline(transaction=False) as pipe:
            for video_id, state in states:
                pipe.set(self._state_key(video_id), state, px=ttl_ms)
            pipe.publish(self._channel, message)
            await self._call(pipe.execute())

    async def publish_event(self, video_id: str, state: str | None) -> None:
        """Relay webhook news, storing the final state when there is one."""
        message = json.dumps({"from": self.token, "event": [video_id, state]})
        async with self._redis.pipeline(transaction=False) as pipe:
            if state is not None:
                pipe.set(self._state_key(video_id), state, px=round(self.state_ttl * 1000))
            pipe.publish(self._channel, message)
            await self._call(pipe.execute())

    # --- the shared rate limit ---------------------------------------------------------

    async def cut_rate(
        self,
        generation: int,
        rate: float | None,
        retry_after: float | None,
        *,
        backoff_factor: float,
        min_rate: float,
        burst: int,
        recovery: float,
    ) -> SharedLimit | None:
        """Cut the rate all replicas draw from, unless another cut it since `generation`.

        With no limit in force yet, the cut starts from `rate` times the replicas
        present.
        """
        args = [
            self.token,
            self._channel,
            str(generation),
            "" if rate is None else repr(float(rate)),
            "" if retry_after is None else str(round(retry_after * 1000)),
            repr(float(backoff_factor)),
            repr(float(min_rate)),
            str(burst),
            str(round(recovery * 1000)),
        ]
        keys = [*self._limit_keys, self._replicas_key]
        reply = await self._call(self._cut(keys=keys, args=args))
        return None if reply is None else _shared_limit(reply)

    async def take_slot(self) -> float | None:
        """Take a slot from the shared limit: 0, seconds to wait, or None (no limit)."""
        wait = int(await self._call(self._take(keys=self._limit_keys[:1])))
        return None if wait < 0 else wait / 1000

    async def _listen(self) -> None:
        """Deliver the channel's messages to the listener; reconnect when it breaks."""
        pause = _RECONNECT_MIN
        while not self._closed:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                pause = _RECONNECT_MIN
                while not self._closed:
                    message = await pubsub.get_message(timeout=_LISTEN_POLL)
                    if message is not None:
                        self._deliver(message["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                logger.debug("Redis subscription lost (%s); reconnecting in %.1f s", exc, pause)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # untyped in redis-py
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RECONNECT_MAX)

    def _deliver(self, data: bytes | str) -> None:
        listener = self._listener
        try:
            message = json.loads(data)
            if not isinstance(message, dict) or message.get("from") == self.token:
                return
            if listener is None:
                return
            if "states" in message:
                for video_id, state in message["states"]:
                    listener.on_state(str(video_id), str(state))
            elif "event" in message:
                video_id, state = message["event"]
                listener.on_event(str(video_id), None if state is None else str(state))
            elif "limit" in message:
                listener.on_limit(_shared_limit(message["limit"]))
            elif "replicas" in message:
                listener.on_replicas(int(message["replicas"]))
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("ignored a malformed message on %s: %s", self._channel, exc)


def _shared_limit(data: bytes | str | dict[str, Any]) -> SharedLimit:
    """Read a limit from a script's JSON (or a message's part of it)."""
    fields = json.loads(data) if isinstance(data, (bytes, str)) else data
    return SharedLimit(
        generation=int(fields["generation"]),
        reduced=float(fields["reduced"]),
        ceiling=float(fields["ceiling"]),
        elapsed=float(fields["elapsed"]),
        recovery=float(fields["recovery"]),
        remaining=float(fields["remaining"]),
        paused_for=float(fields["paused_for"]),
    )


def _text(value: bytes | str | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
