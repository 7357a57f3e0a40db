"""Request and response shapes for logging in and for staff accounts."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Password = Annotated[str, Field(min_length=8, max_length=128)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user_id: int
    username: str
    name: str
    role: str


class MeOut(BaseModel):
    id: int
    username: str
    name: str
    role: str
    year: int | None = None
    max_credits: int | None = None
    department_code: str | None = None


class StaffIn(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Literal["professor", "admin"]
    password: Password


class StaffOut(BaseModel):
    id: int
    username: str
    name: str
    role: str


class PasswordChangeIn(BaseModel):
    current_password: Annotated[str, Field(max_length=128)]
    new_password: Password


class UserPatch(BaseModel):
    """A registrar's edit of any account. A new role (staff only), a new password or
    disabling logs the user out everywhere."""

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    role: Literal["professor", "admin"] | None = None
    password: Password | None = None
    disabled: bool | None = None


class UserOut(BaseModel):
    id: int
    username: str
    name: str
    role: str
    disabled: bool
