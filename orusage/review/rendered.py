"""The weekly report drawn: its charts as PNG and its text as HTML (self-contained) or Markdown (+ PNG files).

Kept apart from ``orusage.review.report`` because drawing loads Altair and vl-convert, which JSON never needs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from orusage.review.document import Block, blocks, title
from orusage.review.images import Image, chart_images
from orusage.review.render import html_page, markdown
from review.model import Review


@dataclass(frozen=True)
class Report:
    review: Review
    images: list[Image]
    blocks: list[Block]

    @property
    def title(self) -> str:
        return title(self.review)

    def by_name(self) -> dict[str, Image]:
        return {image.name: image for image in self.images}

    def html(self) -> str:
        def data_uri(image: Image) -> str:
            return "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")

        return html_page(self.title, self.blocks, self.by_name(), data_uri)

    def markdown(self, image_dir: str | None) -> str:
        """``image_dir`` the folder (relative to the Markdown file) holding the PNGs; None: no images."""
        if image_dir is None:
            return markdown(self.blocks, self.by_name(), None)
        return markdown(self.blocks, self.by_name(), lambda image: f"{quote(image_dir)}/{quote(image.name)}.png")


def build(review: Review, with_images: bool = True) -> Report:
    images = chart_images(review) if with_images else []
    return Report(review, images, blocks(review, frozenset(i.name for i in images)))


def image_dir_for(out: Path) -> Path:
    return out.with_name(f"{out.stem}_files")


def write(report: Report, kind: str, out: Path) -> list[Path]:
    """Write the report as ``kind`` to ``out`` (and, for Markdown, its images); the files written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind not in ("html", "md"):
        raise ValueError(f"cannot draw a report as {kind!r}")
    if kind == "html":
        out.write_text(report.html(), encoding="utf-8")
        return [out]
    folder = image_dir_for(out)
    written = [out]
    if report.images:
        folder.mkdir(exist_ok=True)
        for image in report.images:
            path = folder / f"{image.name}.png"
            path.write_bytes(image.png)
            written.append(path)
    out.write_text(report.markdown(folder.name if report.images else None), encoding="utf-8")
    return written
