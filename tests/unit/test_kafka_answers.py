"""A publish waits for the broker's answer to every message, and fails at the first
refusal; answers come from librdkafka's polling thread."""

import asyncio
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException

from clarion.adapters.queue.kafka_answers import BrokerAnswers


def answer_from_a_thread(answers: BrokerAnswers, errors: list[KafkaError | None]) -> None:
    def run() -> None:
        for error in errors:
            answers.delivered(error, None)  # type: ignore[arg-type]

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


async def test_a_publish_is_done_only_once_every_message_is_answered() -> None:
    answers = BrokerAnswers(asyncio.get_running_loop(), 3)
    answer_from_a_thread(answers, [None, None])
    await asyncio.sleep(0.05)
    assert not answers.all.done()  # one message still unanswered

    answer_from_a_thread(answers, [None])
    await asyncio.wait_for(answers.all, 1)


async def test_the_first_refusal_fails_the_publish_without_waiting_for_the_rest() -> None:
    answers = BrokerAnswers(asyncio.get_running_loop(), 1000)
    refused = KafkaError(KafkaError._MSG_TIMED_OUT)
    answer_from_a_thread(answers, [None, refused, None, KafkaError(KafkaError._ALL_BROKERS_DOWN)])
    with pytest.raises(KafkaException) as raised:
        await asyncio.wait_for(answers.all, 1)
    assert raised.value.args[0].code() == KafkaError._MSG_TIMED_OUT


async def test_answers_after_the_publisher_stopped_waiting_are_harmless() -> None:
    loop = asyncio.get_running_loop()
    raised: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: raised.append(context))
    try:
        answers = BrokerAnswers(loop, 1)
        answers.all.cancel()
        answer_from_a_thread(answers, [None])
        await asyncio.sleep(0.05)  # the answer is settled on the loop
    finally:
        loop.set_exception_handler(None)
    assert answers.all.cancelled()
    assert raised == []
