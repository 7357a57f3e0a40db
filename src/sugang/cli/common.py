"""What every command shares: settings from the environment, a Database, a console."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from sugang.config import Settings
from sugang.errors import SugangError
from sugang.runtime import Services

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)


def run_with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run one async function with a fresh Services, and turn refusals into exit status 1."""

    async def main() -> T:
        services = Services.from_settings(Settings())
        try:
            return await work(services)
        finally:
            await services.db.dispose()

    try:
        return asyncio.run(main())
    except SugangError as refusal:
        messages = refusal.messages()
        errors.print(f"[red]{refusal.code}[/red]: {messages['en']} / {messages['ko']}")
        for row in refusal.detail.get("errors", [])[:50]:
            errors.print(f"  row {row.get('row')}: {row.get('column') or ''} {row.get('message')}")
        raise typer.Exit(1) from None
