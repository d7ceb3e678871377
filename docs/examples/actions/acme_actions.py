from pydantic import BaseModel, Field

from services.executor.actions import action


class LookupArgs(BaseModel):
    ip: str = Field(description="Address to look up.")


@action("acme.lookup", description="Look an address up in ACME's inventory.")
def lookup(args: LookupArgs) -> dict: ...
