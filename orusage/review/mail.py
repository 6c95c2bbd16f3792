"""The weekly report as an e-mail: HTML with its charts inline (``cid:``), and the Markdown as plain text.

Structure (RFC 2387 / 2046), what mail clients expect for a page with inline images::

    multipart/alternative
    ├── text/plain                 the Markdown, for clients that show no HTML
    └── multipart/related
        ├── text/html              <img src="cid:…"> for every chart
        └── image/png  ×N          Content-ID <…>, Content-Disposition: inline

Pure: builds the message, sends nothing (``orusage.review.send`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from orusage.review.document import Block
from orusage.review.images import Image
from orusage.review.render import html_page

CID_DOMAIN = "orusage.report"


def content_ids(images: Sequence[Image]) -> dict[str, str]:
    """A unique Content-ID per chart, without the angle brackets (as ``cid:`` URLs write it)."""
    return {image.name: make_msgid(idstring=image.name, domain=CID_DOMAIN)[1:-1] for image in images}


def build_email(
    *,
    subject: str,
    sender: str,
    to: Sequence[str],
    title: str,
    blocks: Sequence[Block],
    images: Sequence[Image],
    text: str,
) -> EmailMessage:
    cids = content_ids(images)
    by_name = {image.name: image for image in images}
    html = html_page(title, blocks, by_name, lambda image: f"cid:{cids[image.name]}")
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain=CID_DOMAIN)
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    html_part = next(part for part in mail.iter_parts() if part.get_content_type() == "text/html")
    for image in images:
        # add_related turns the text/html part into multipart/related [text/html, image/png…].
        html_part.add_related(
            image.png, maintype="image", subtype="png", cid=f"<{cids[image.name]}>", filename=f"{image.name}.png",
            disposition="inline",
        )  # fmt: skip
    return mail
