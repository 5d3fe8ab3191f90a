"""GET /files/<token>: the download links that carry files to channels without uploads."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.web import Endpoint
from bot.context import AppContext
from bot.i18n import Translator
from bot.messages import ascii_name
from bot.services import files

PATH = "/files/{token}"


def download(app: AppContext) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        async with app.sessions() as session:
            link = await files.open_link(session, request.path_params["token"], app.clock.now())
        if link is None:  # expired, changed, or its member is gone: no more is said
            t = Translator(app.settings.default_language)  # who opens it is not known
            return PlainTextResponse(t.gettext("This link is no longer valid. Please ask for "
                                               "the file again in the chat."), status_code=404)
        name = ascii_name(link.filename) or "file"
        inline = link.mime.startswith("image/")  # Zalo's servers fetch pictures to show them
        disposition = "inline" if inline else f'attachment; filename="{name}"'
        return Response(link.content, media_type=link.mime, headers={
            "Content-Disposition": disposition, "Cache-Control": "private, no-store"})

    return endpoint
