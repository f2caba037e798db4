"""The configured sending rate and daily cap, shared by every worker through Redis (the
cache), so that however many workers run, Notify is never asked for more than allowed."""

import time

from django.conf import settings
from django.core.cache import cache


class DailyCapReached(Exception):
    pass


def take_a_slot(now=time.time, sleep=time.sleep) -> None:
    """Waits for a free sending slot in the current second, or raises DailyCapReached."""
    # Any 60 seconds overlap 61 of the limiter's whole seconds: a 61st of the minute's
    # allowance a second keeps every 60-second window within it (Notify counts that way).
    per_second = max(1, settings.UPDATES_RATE_PER_MINUTE / 61)
    while True:
        second = int(now())
        key = f"send-rate:{second}"
        cache.add(key, 0, timeout=5)
        if cache.incr(key) <= per_second:
            break
        sleep(max(0.0, second + 1 - now()))
    day = time.strftime("%Y-%m-%d", time.gmtime(now()))
    key = f"send-day:{day}"
    cache.add(key, 0, timeout=2 * 86400)
    if cache.incr(key) > settings.UPDATES_DAILY_CAP:
        raise DailyCapReached
