"""Security scanners over workflows and manifests: zizmor (offline) and checkov, as findings.

Every finding is ``tool rule where``: ``where`` is the file for zizmor (relative to the folder
scanned) and ``Kind/name`` (or the file) for checkov. ``ALLOWLIST`` holds the findings we
accept, one per line with its reason; anything else fails the tests (``tests/test_scans.py``).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

from gitops.tools import run, tool

ALLOWLIST = Path(__file__).with_name("scan-allowlist.txt")
CHECKOV_FRAMEWORKS = ("kubernetes", "github_actions", "dockerfile")


@dataclass(frozen=True)
class Finding:
    tool: str
    rule: str
    where: str
    target: str = ""  # the scanned folder (an answer set, or the template) it came from

    def __str__(self) -> str:
        return f"{self.target}: {self.tool} {self.rule} {self.where}"


@dataclass(frozen=True)
class Allowed:
    tool: str
    rule: str
    where: str  # a glob
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            self.tool == finding.tool
            and self.rule == finding.rule
            and fnmatch.fnmatchcase(finding.where, self.where)
        )


def allowlist(path: Path = ALLOWLIST) -> list[Allowed]:
    """The accepted findings: ``tool rule where-glob reason...`` per line, ``#`` comments."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4 or not parts[3].strip():
            raise ValueError(f"{path.name}:{number}: expected `tool rule where reason`: {line!r}")
        entries.append(Allowed(*parts))
    return entries


def unexplained(findings: list[Finding], allowed: list[Allowed]) -> list[str]:
    """The findings no allow-list entry covers."""
    return [str(f) for f in findings if not any(a.covers(f) for a in allowed)]


def zizmor(folder: Path, target: str = "") -> list[Finding]:
    """``zizmor --offline --no-ignores`` over a folder (its workflows and dependabot.yml).

    ``--no-ignores``: an inline ``# zizmor: ignore`` comment must not hide a finding from the
    allow-list, the one place where accepted findings are explained.
    """
    done = run(
        [tool("zizmor"), "--offline", "--no-ignores", "--no-exit-codes", "--format", "json"]
        + [str(folder)]
    )
    assert done.returncode == 0, f"zizmor failed on {folder}:\n{done.stderr[-3000:]}"
    findings = []
    for item in json.loads(done.stdout):
        location = item["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]
        where = Path(location).resolve().relative_to(folder.resolve()).as_posix()
        findings.append(Finding("zizmor", item["ident"], where, target))
    return findings


@dataclass
class CheckovReport:
    findings: list[Finding]
    summaries: dict[str, dict]  # framework -> checkov's summary (passed, failed, parsing errors)


def checkov(folder: Path) -> CheckovReport:
    """One ``checkov --skip-download`` run over ``folder``; each finding's target is the first
    folder of its file under ``folder``."""
    done = run(
        [tool("checkov"), "-d", str(folder), "--skip-download", "--quiet", "--compact"]
        + ["-o", "json", "--framework", *CHECKOV_FRAMEWORKS]
    )
    assert done.returncode in (0, 1), f"checkov failed on {folder}:\n{done.stderr[-3000:]}"
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    findings, summaries = [], {}
    for report in reports:
        summaries[report["check_type"]] = report["summary"]
        for failed in report.get("results", {}).get("failed_checks", []):
            file = failed["file_path"].lstrip("/")
            target, _, rest = file.partition("/")
            if report["check_type"] == "kubernetes":
                kind, *_, name = failed["resource"].split(".")
                where = f"{kind}/{name}"
            else:
                where = rest
            findings.append(Finding("checkov", failed["check_id"], where, target))
    return CheckovReport(findings, summaries)
