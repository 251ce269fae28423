"""Run the same work in many threads at once: races against the database or a live server."""
import threading
from collections.abc import Callable
from typing import Any

Together = Callable[[], None]


def all_at_once(count: int, work: Callable[[int, Together], Any], timeout: float = 120) -> list[Any]:
    """Run work(index, together) in `count` threads; return what each returned, or the exception it raised.

    together() returns once every thread has called it, so the racing part starts at one moment
    while the setup before it (filling a cart, say) takes its time.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            results[index] = work(index, lambda: barrier.wait(timeout=timeout))
        except Exception as error:  # handed to the test, which asserts on it
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results
