"""A storm of clients far past the pools' size, in a process of its own (so that the students'
event loop is left alone): each client asks for the current term (a pool connection each) as
soon as it has its last answer, and after a 503 waits the Retry-After it was given, as the
web UI does. Prints one JSON line: requests by status.

    python -m sugang.bench.chaos.storm URL CLIENTS SECONDS
"""

import asyncio
import json
import sys
import time
from collections import Counter

import aiohttp


async def storm(url: str, clients: int, seconds: float) -> Counter[str]:
    answers: Counter[str] = Counter()
    stop_at = time.monotonic() + seconds
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
    ) as http:

        async def client() -> None:
            while time.monotonic() < stop_at:
                try:
                    async with http.get(f"{url}/api/v1/terms/current") as answer:
                        await answer.read()
                        answers[str(answer.status)] += 1
                        if answer.status == 503:
                            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
                except (aiohttp.ClientError, TimeoutError):
                    answers["no answer"] += 1
                    await asyncio.sleep(1)

        await asyncio.gather(*(client() for _ in range(clients)))
    return answers


if __name__ == "__main__":
    target, count, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(dict(asyncio.run(storm(target, count, duration)))))
