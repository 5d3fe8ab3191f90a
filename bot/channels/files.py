"""GET /files/<token>: the download links that carry files to channels without uploads."""

from __future__ import annotations

import unicodedata

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.web import Endpoint
from bot.context import AppContext
from bot.services import files

PATH = "/files/{token}"


def _ascii(name: str) -> str:
    """The file name as plain ASCII for the header ('Đề án 1.docx' → 'De-an-1.docx')."""
    name = name.replace("đ", "d").replace("Đ", "D")  # no decomposition takes their stroke off
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in plain).strip("-") or "file"


def download(app: AppContext) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        async with app.sessions() as session:
            link = await files.open_link(session, request.path_params["token"], app.clock.now())
        if link is None:  # expired, changed, or its member is gone: no more is said
            return PlainTextResponse("This link is no longer valid.", status_code=404)
        inline = link.mime.startswith("image/")  # Zalo's servers fetch pictures to show them
        disposition = "inline" if inline else f'attachment; filename="{_ascii(link.filename)}"'
        return Response(link.content, media_type=link.mime, headers={
            "Content-Disposition": disposition, "Cache-Control": "private, no-store"})

    return endpoint
