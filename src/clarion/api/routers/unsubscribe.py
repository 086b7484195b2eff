"""`/unsubscribe/{token}`: the one-click unsubscribe link of marketing email
(RFC 8058). No credentials: the signed link is the authority."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from clarion.api.deps import ContainerDep, UowDep
from clarion.services.unsubscribe import unsubscribe

# No per-IP budget: one-click POSTs come from mailbox providers' servers, many
# users through few addresses, and a signature check is cheap.
router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

INVALID = "This link is not valid, or it has expired. Nothing was changed."


def page(title: str, text: str, *, form: bool = False, status: int = 200) -> HTMLResponse:
    button = (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
        if form
        else ""
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
        f"<p>{escape(text)}</p>{button}</main></body></html>"
    )
    return HTMLResponse(body, status_code=status)


NOT_VALID: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "The link is forged, altered or expired: nothing changes.",
        "content": {"text/html": {}},
    }
}


@router.get("/{token}", response_class=HTMLResponse, responses=NOT_VALID)
async def confirm_page(token: str, container: ContainerDep) -> HTMLResponse:
    """A page with one button; opening the link (a mail scanner does) changes nothing."""
    if container.unsubscribe_links.user_of(token) is None:
        return page("Link not valid", INVALID, status=400)
    return page(
        "Unsubscribe from marketing email?",
        "You will still get email about your account and what you ask for.",
        form=True,
    )


@router.post("/{token}", response_class=HTMLResponse, responses=NOT_VALID)
async def one_click(token: str, uow: UowDep, container: ContainerDep) -> HTMLResponse:
    """What a mail client sends for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
    (and the page's button): marketing email is turned off, answered 200 without a
    redirect. Doing it again answers the same and changes nothing."""
    user_id = container.unsubscribe_links.user_of(token)
    if user_id is None:
        return page("Link not valid", INVALID, status=400)
    await unsubscribe(uow, user_id)
    return page("You are unsubscribed", "You will get no more marketing email from us.")
