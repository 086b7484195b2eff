"""Which Kafka offsets are safe to commit when messages finish out of order."""

from clarion.adapters.queue.kafka_wire import OffsetBook

T = "notifications.retry"


def commits(book: OffsetBook, *offsets: int) -> list[tuple[int, int]]:
    return [(c.partition, c.offset) for c in book.finish((T, 0, o) for o in offsets)]


def test_a_commit_never_passes_an_unfinished_offset() -> None:
    book = OffsetBook()
    for offset in (5, 6, 7):
        book.hold((T, 0, offset))
    assert commits(book, 7) == [(0, 5)]  # 5 and 6 are still out
    assert commits(book, 5) == [(0, 6)]
    assert commits(book, 6) == [(0, 8)]  # all done: past the highest ever finished


def test_finishing_the_last_low_offset_commits_past_earlier_high_ones() -> None:
    """The relay forwards by due time: offset 9 may finish long before 8."""
    book = OffsetBook()
    book.hold((T, 0, 8))
    book.hold((T, 0, 9))
    assert commits(book, 9) == [(0, 8)]
    assert commits(book, 8) == [(0, 10)]


def test_a_partition_that_moved_away_commits_nothing() -> None:
    book = OffsetBook()
    book.hold((T, 0, 1))
    book.forget([(T, 0)])
    assert commits(book, 1) == []
