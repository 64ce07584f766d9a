"""The consent texts a worker accepts before applying, by version.

The backend serves the words (``GET /join/{token}`` hands the mini-program the same
title and text the web form shows) and every application records the version its
worker ticked. A new wording is a new version added here; ``CONSENT_VERSION`` chooses
the one in force, and an application sent with any other version is refused.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsentText:
    version: str
    title: str
    text: str  # paragraphs separated by a blank line

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.text.split("\n\n") if part.strip()]


TEXTS: dict[str, ConsentText] = {
    "2026-01": ConsentText(
        version="2026-01",
        title="入会须知与个人信息处理说明",
        text=(
            "收集哪些信息：您的手机号码、姓名、身份证号码、职业、用工形式、所在站点和工作单位。\n\n"
            "为什么收集：核实您的身份和入会条件（年满 16 周岁），把申请交给受理的工会审核，"
            "通知您审核结果，并为您办理电子会员证。\n\n"
            "谁会收到：只有为您匹配的受理工会（提交前页面上显示其名称）及其上级工会的工作人员；"
            "短信服务商只收到您的手机号码和通知内容。我们不会把您的信息提供给用人单位或平台企业。\n\n"
            "保存多久：申请办理期间和会员关系存续期间保存；申请未通过或撤回的，办结一年后删除；"
            "退会的，退会三年后删除。身份证号码和姓名加密保存，页面上只显示部分内容。\n\n"
            "如何撤回：尚未审核的申请可在“我的申请”中随时撤回；已是会员的可以申请退会，"
            "并可要求删除您的个人信息；也可拨打职工服务热线 12351。"
        ),
    ),
}


def consent_text(version: str) -> ConsentText:
    """The text of ``version``; a version without a text is a configuration error."""
    try:
        return TEXTS[version]
    except KeyError:
        raise LookupError(f"CONSENT_VERSION {version!r} has no consent text in app/consent.py") from None
