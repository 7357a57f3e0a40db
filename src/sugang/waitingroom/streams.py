"""How many live queue pages (server-sent event streams) one student may hold in this worker
process. A stream lives up to 15 minutes; without a cap, one student's script could hold
thousands of them. The count is per process: with W workers on R replicas a student can
hold at most limit × W × R, still a handful."""

from collections import Counter


class StreamSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[int] = Counter()

    def full(self, student_id: int) -> bool:
        return self.open[student_id] >= self.limit

    def take(self, student_id: int) -> bool:
        if self.full(student_id):
            return False
        self.open[student_id] += 1
        return True

    def give_back(self, student_id: int) -> None:
        self.open[student_id] -= 1
        if self.open[student_id] <= 0:
            del self.open[student_id]
