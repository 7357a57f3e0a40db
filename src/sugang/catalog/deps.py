"""The catalog service, for handlers."""

from typing import Annotated

from sugang.catalog.service import CatalogService
from sugang.http.deps import provided

Catalog = Annotated[CatalogService, provided("catalog")]
