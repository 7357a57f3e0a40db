"""The students service, for handlers."""

from typing import Annotated

from sugang.http.deps import provided
from sugang.students.service import StudentService

Students = Annotated[StudentService, provided("students")]
