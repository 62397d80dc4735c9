"""Set the image tag that ArgoCD deploys: ``images[].newTag`` in the kustomization.

CI calls it after pushing an image built from a commit on ``main``::

    python scripts/bump_image_tag.py sha-<commit>        # set the tag
    python scripts/bump_image_tag.py --print-image       # the image name, for docker tags

The file is edited as text, one line, so comments and layout stay as they are; the standard
library is enough, so CI runs it without installing the project.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DEFAULT_FILE = Path("argocd/manifests/kustomization.yaml")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_NEW_TAG = re.compile(r"(newTag:[ \t]*)(?:\"[^\"]*\"|'[^']*'|[^\s#]+)")
_ITEM = re.compile(r"^\s*(?P<dash>-\s+)?(?P<key>[A-Za-z]+):\s*(?P<value>[^#]*?)\s*(#.*)?$")


class BumpError(ValueError):
    """The kustomization has no single image entry with a ``newTag`` to set."""


def _image_entries(lines: list[str]) -> list[dict[str, tuple[int, str]]]:
    """The entries of the top-level ``images:`` list: key -> (line index, value)."""
    entries: list[dict[str, tuple[int, str]]] = []
    inside = False
    for index, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):
            inside = line.split("#")[0].strip() == "images:"
            continue
        match = _ITEM.match(line)
        if not inside or match is None:
            continue
        if match["dash"]:
            entries.append({})
        if entries:
            entries[-1][match["key"]] = (index, match["value"].strip("'\""))
    return entries


def image_entry(lines: list[str], image: str | None = None) -> dict[str, tuple[int, str]]:
    """The entry for ``image`` (its ``name``), or the only entry when ``image`` is None."""
    entries = _image_entries(lines)
    if image is not None:
        entries = [e for e in entries if e.get("name", (0, ""))[1] == image]
    if len(entries) != 1:
        wanted = f"named {image!r}" if image else "in images:"
        raise BumpError(f"expected exactly one image entry {wanted}, found {len(entries)}")
    return entries[0]


def bump(text: str, tag: str, image: str | None = None) -> str:
    """Return ``text`` with the ``newTag`` of the image entry set to ``tag``."""
    if not TAG.match(tag):
        raise BumpError(f"not a valid image tag: {tag!r}")
    lines = text.splitlines(keepends=True)
    entry = image_entry(lines, image)
    if "newTag" not in entry:
        raise BumpError("the image entry has no newTag line to update")
    index, _ = entry["newTag"]
    # Quoted: a tag such as 1e3 or 2024 must stay a string for kustomize's YAML parser.
    lines[index] = _NEW_TAG.sub(lambda m: f'{m[1]}"{tag}"', lines[index], count=1)
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag", nargs="?", help="the new image tag, e.g. sha-<commit>")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="kustomization.yaml")
    parser.add_argument("--image", help="image name of the entry (default: the only entry)")
    parser.add_argument("--print-image", action="store_true", help="print the image name")
    args = parser.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    try:
        if args.print_image:
            entry = image_entry(text.splitlines(), args.image)
            # The image the manifests deploy: newName when the entry renames it.
            print(entry.get("newName", entry["name"])[1])
            return 0
        if not args.tag:
            parser.error("a tag is required (or --print-image)")
        args.file.write_text(bump(text, args.tag, args.image), encoding="utf-8")
    except (BumpError, KeyError) as exc:
        print(f"bump_image_tag: {args.file}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: newTag -> {args.tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
