"""The student journey for Locust, to load-test a real deployment (e.g. the K3s cluster) with
Locust's distributed mode:

    sugang seed --students 5000 --courses 200 --hot 10 --credentials-out credentials.csv --rush-mode
    SUGANG_CREDENTIALS=credentials.csv locust --host https://sugang.example
    # distributed: locust --master …  and on other machines: locust --worker --master-host …

Each simulated student logs in once, takes a ticket, waits until the waiting room admits them
(directly, if the term is not in rush mode), then tries to enroll in a few sections, half of
them the hot ones, and sometimes drops one. Refusals (SECTION_FULL, TIME_CONFLICT, …) are the
expected answers of a rush and count as successes; only 5xx and transport errors fail.
"""

import csv
import os
import random
import threading
import time
from typing import Any

from locust import HttpUser, between, events, task

_credentials: list[dict[str, str]] = []
_lock = threading.Lock()
_sections: list[int] = []
HOT_SECTIONS = int(os.environ.get("SUGANG_HOT_SECTIONS", "10"))


@events.init.add_listener
def load_credentials(**_: Any) -> None:
    path = os.environ.get("SUGANG_CREDENTIALS", "credentials.csv")
    with open(path, newline="") as source:
        _credentials.extend(csv.DictReader(source))
    random.shuffle(_credentials)


class Student(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        with _lock:
            self.credential = _credentials.pop() if _credentials else None
        if self.credential is None:
            self.stop()
            return
        answer = self.client.post(
            "/api/v1/auth/token",
            name="login",
            data={
                "username": self.credential["student_number"],
                "password": self.credential["password"],
            },
        )
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        if not _sections:
            page = self.client.get(
                "/api/v1/sections?page_size=200", headers=self.headers, name="sections"
            ).json()
            _sections.extend(item["id"] for item in page["items"])
        self.wait_in_the_room()

    def wait_in_the_room(self) -> None:
        with self.client.post(
            "/api/v1/queue/tickets", headers=self.headers, name="ticket", catch_response=True
        ) as answer:
            if answer.status_code == 409 and answer.json().get("code") == "NOT_IN_RUSH_MODE":
                answer.success()
                return
            ticket = answer.json()
        started = time.monotonic()
        while not ticket.get("admitted"):
            time.sleep(ticket.get("poll_after_seconds") or 1.0)  # as the server asks
            ticket = self.client.get(
                f"/api/v1/queue/tickets/{ticket['ticket']}",
                headers=self.headers,
                name="ticket state",
            ).json() | {"ticket": ticket["ticket"]}
        events.request.fire(
            request_type="QUEUE",
            name="waited until admitted",
            response_time=(time.monotonic() - started) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
        self.headers["X-Admission-Token"] = ticket["access_token"]

    def enroll(self, section_id: int) -> None:
        with self.client.post(
            "/api/v1/enrollments",
            json={"section_id": section_id},
            headers=self.headers,
            name="enroll",
            catch_response=True,
        ) as answer:
            if answer.status_code == 401 and "ADMISSION" in answer.text:
                answer.success()
                self.headers.pop("X-Admission-Token", None)
                self.wait_in_the_room()  # the pass ran out: back to the room
            elif answer.status_code < 500:
                answer.success()

    @task(3)
    def enroll_hot(self) -> None:
        if _sections:
            self.enroll(random.choice(_sections[:HOT_SECTIONS]))

    @task(3)
    def enroll_elsewhere(self) -> None:
        if len(_sections) > HOT_SECTIONS:
            self.enroll(random.choice(_sections[HOT_SECTIONS:]))

    @task(1)
    def look_and_maybe_drop(self) -> None:
        mine = self.client.get(
            "/api/v1/me/enrollments", headers=self.headers, name="my enrollments"
        ).json()
        if mine.get("enrollments") and random.random() < 0.3:
            section = random.choice(mine["enrollments"])["id"]
            with self.client.delete(
                f"/api/v1/enrollments/{section}",
                headers=self.headers,
                name="drop",
                catch_response=True,
            ) as answer:
                if answer.status_code < 500:
                    answer.success()
