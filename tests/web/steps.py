"""What a worker does on the pages, step by step, found by the accessible names the pages promise."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import SmsInbox

VALID_ID = "11010519491231002X"


def scan_and_sign_in(page: Any, base_url: str, token: str, phone: str, sms: SmsInbox) -> None:
    page.goto(f"{base_url}/j/{token}")
    page.get_by_label("手机号", exact=True).fill(phone)
    page.get_by_role("button", name="获取验证码", exact=True).click()
    page.get_by_label("验证码", exact=True).fill(sms.last_code(phone))
    page.get_by_role("button", name="下一步", exact=True).click()


def fill_form(page: Any, *, name: str = "王小明", id_number: str = VALID_ID, form: str = "platform") -> None:
    page.get_by_label("姓名", exact=True).fill(name)
    page.get_by_label("身份证号", exact=True).fill(id_number)
    page.get_by_label("职业", exact=True).select_option("courier")
    page.get_by_label("用工形式", exact=True).select_option(form)
    page.get_by_role("checkbox", name=re.compile("同意")).check()


def submit(page: Any) -> Any:
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请", exact=True).click()
    return page


def read_qr_on_screen(page: Any, selector: str = ".qr svg") -> str:
    """Decode the QR code as Chromium draws it (a real decoder reading the pixels on screen)."""
    from tests.joincodes.conftest import decode_png

    return str(decode_png(page.locator(selector).screenshot()).text)
