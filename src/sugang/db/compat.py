"""Which code the schema still serves: the expand/contract rule for migrations.

A migration that only adds (a table, a nullable column, an index) leaves the code of the
revision before it working; it says so with `serves_code_from = "<that revision>"` in its
module. One that removes or changes what older code reads (a contract) says nothing, and the
schema then serves its own revision's code only. The runner records the schema's answer in
`schema_compatibility` after each migration, so that pods of an older release, which do not
know the newer revisions, can still tell whether they may serve (`sugang db wait`)."""

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sugang.db.types import Base


class SchemaCompatibility(Base):
    __tablename__ = "schema_compatibility"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oldest_code_revision: Mapped[str] = mapped_column(String(32))
