"""The enrollment service, for handlers."""

from typing import Annotated

from sugang.enrollment.service import EnrollmentService
from sugang.http.deps import provided

Enrollment = Annotated[EnrollmentService, provided("enrollment")]
