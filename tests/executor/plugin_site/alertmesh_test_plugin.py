"""An action shipped by a separate package, found through its ``alertmesh.actions`` entry point (tests only)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.executor.actions import action


class ShoutArgs(BaseModel):
    text: str = Field(description="What to shout.")


@action("plugin.shout", description="Upper-case a text, loudly.", pure=True)
def shout(args: ShoutArgs) -> str:
    return args.text.upper() + "!"
