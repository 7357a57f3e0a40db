"""The system service, for handlers."""

from typing import Annotated

from sugang.http.deps import provided
from sugang.system.service import SystemService

System = Annotated[SystemService, provided("system")]
