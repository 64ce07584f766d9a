"""WeChat mini-program codes (小程序码) for join codes, via ``wxa/getwxacodeunlimit``, fetched once and kept.

``scene`` is the join code's token (which is why tokens are at most 32 characters of
``[A-Za-z0-9_-]``) and ``page`` the configured mini-program page. Codes made by this
API never expire, and WeChat limits how often it may be called, so each image is
stored in ``join_code_wxacodes`` the first time and served from there afterwards.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, UnidentifiedImageError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.actors import Actor
from app.db import utcnow
from app.errors import AppError, ServiceUnavailable
from app.joincodes.models import WxaCode
from app.joincodes.service import ensure_live, join_code_in_scope
from app.notify.wechat import WeChatClient, WeChatError, WeChatNotConfigured, wechat_client

log = logging.getLogger("ruhui.joincodes")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Token errors WeChatClient.call could not cure by renewing the token once.
ACCESS_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})


def wxacode_error(errcode: int) -> AppError:
    """The API error for a WeChat ``errcode`` from getwxacodeunlimit (callers log errcode and errmsg)."""
    if errcode in (40169, 40129):
        # The scene was refused: with our tokens this means a code that cannot be put into a mini-program code.
        return AppError(
            "微信不接受该入会码作为小程序码参数，请轮换入会码后重试", code="wxacode_scene_invalid", status=502
        )
    if errcode == 41030:
        return AppError(
            "小程序页面不存在或小程序尚未发布，请检查入会页面配置（JOIN_MINIPROGRAM_PAGE）",
            code="wxacode_page_invalid",
            status=502,
        )
    if errcode == 45009:
        # WeChat allows 5,000 calls a minute for the whole mini-program.
        return ServiceUnavailable("生成小程序码过于频繁，请一分钟后再试", code="wxacode_rate_limited", retry_after=60)
    if errcode == -1 or errcode in ACCESS_TOKEN_ERRCODES:
        return ServiceUnavailable("微信服务繁忙，请稍后再试", code="wechat_unavailable", retry_after=5)
    return AppError("微信未能生成小程序码，请稍后再试", code="wxacode_failed", status=502, wechat_errcode=errcode)


def as_png(image: bytes) -> bytes:
    """The image as PNG: WeChat sends JPEG unless a transparent background was asked for."""
    if image.startswith(PNG_MAGIC):
        return image
    try:
        with Image.open(io.BytesIO(image)) as decoded:
            out = io.BytesIO()
            decoded.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError) as exc:
        log.warning("wechat returned an unreadable wxacode image", extra={"bytes": len(image)})
        raise ServiceUnavailable("微信返回的小程序码无法识别，请稍后再试", code="wechat_unavailable") from exc


WXACODE_WIDTH = 1280  # WeChat's largest: these codes are printed on posters


def _fetch(client: WeChatClient, token: str, page: str, env_version: str) -> bytes:
    try:
        reply = client.call(
            "POST",
            "wxa/getwxacodeunlimit",
            json={
                "scene": token,
                "page": page,
                # WeChat can only check pages of the released version; trial/develop pages are taken on trust.
                "check_path": env_version == "release",
                "env_version": env_version,
                "width": WXACODE_WIDTH,
            },
        )
    except WeChatError as exc:
        log.warning("WeChat refused a wxacode", extra={"errcode": exc.errcode, "errmsg": exc.errmsg[:200]})
        raise wxacode_error(exc.errcode) from None
    if reply.data is not None:  # JSON without an errcode where an image belongs
        log.warning("WeChat answered a wxacode request with JSON", extra={"keys": sorted(reply.data)[:10]})
        raise ServiceUnavailable("微信服务暂时不可用，请稍后再试", code="wechat_unavailable")
    return as_png(reply.content)


def wxacode_png(session: Session, principal: Actor, code_id: str, *, page: str, env_version: str) -> bytes:
    """The mini-program code of a live join code in scope: from the cache, or fetched from WeChat once and kept."""
    code = join_code_in_scope(session, principal, code_id)
    ensure_live(code, utcnow())
    cached = session.get(WxaCode, (code.id, page, env_version))
    if cached is not None:
        return cached.image_png
    try:
        client = wechat_client()
    except WeChatNotConfigured:
        raise AppError("未配置微信小程序，无法生成小程序码", code="wechat_not_configured", status=501) from None
    image = _fetch(client, code.token, page, env_version)
    try:
        # A savepoint: if another request stored the same image meanwhile, keep theirs and carry on.
        with session.begin_nested():
            session.add(WxaCode(join_code_id=code.id, page=page, env_version=env_version, image_png=image))
    except IntegrityError:
        stored = session.get(WxaCode, (code.id, page, env_version), populate_existing=True)
        return stored.image_png if stored is not None else image
    log.info("wxacode fetched", extra={"join_code_id": code.id, "bytes": len(image)})
    return image
