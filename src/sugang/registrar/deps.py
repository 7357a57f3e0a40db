"""The registrar's service, for handlers."""

from typing import Annotated

from sugang.http.deps import provided
from sugang.registrar.service import RegistrarService

Registrar = Annotated[RegistrarService, provided("registrar")]
