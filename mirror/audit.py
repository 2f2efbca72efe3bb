"""The audit: an independent second opinion that a build directory is script-free, request-free and
link-complete.

Owns: reading every file of a directory (except the ``.mirror/`` metadata folder), handing each to the
right reader (audit_markup for HTML/XHTML/SVG/XML, audit_rules for CSS), checking every local reference
once all files are read, and returning a ``Report``. ``require_pass`` is the gate that build, zip and
publish call. Never imports mirror.sanitize (it must not trust the code that made the build), never
prints, never exits: the CLI prints the report.

Rules and severities are listed in audit_rules.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from mirror.audit_markup import audit_html, audit_xml, decode_stylesheet
from mirror.audit_rules import FileAudit, Finding, Ref
from mirror.errors import AuditFailed

log = logging.getLogger(__name__)

META_DIR = ".mirror"
HTML_SUFFIXES = frozenset({".html", ".htm", ".shtml"})
XHTML_SUFFIXES = frozenset({".xhtml", ".xht"})
XML_SUFFIXES = XHTML_SUFFIXES | {".svg", ".xml", ".xsl", ".xslt", ".rss", ".atom", ".mml", ".rdf"}
SCRIPT_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".jsx", ".vbs", ".htc", ".wasm"})
SHOWN_IN_FAILURE = 3

__all__ = ["Finding", "Report", "audit_dir", "format_json", "format_text", "require_pass"]


@dataclass(frozen=True)
class Report:
    files: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def notes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "note")

    def by_rule(self, severity: str | None = None) -> dict[str, int]:
        counts = Counter(f.rule for f in self.findings if severity in (None, f.severity))
        return dict(sorted(counts.items()))


def audit_dir(path: Path | str, strict_links: bool = False) -> Report:
    """Audit every file under ``path`` except its ``.mirror/`` folder."""
    root = Path(path)
    if not root.is_dir():
        raise AuditFailed(f"{root} is not a directory; give the build directory to check (e.g. build/site).")
    files, links = _list_files(root)
    audits = [_audit_file(root, rel, strict_links) for rel in files]
    findings = [f for fa in audits for f in fa.findings]
    findings += [_symlink_finding(rel) for rel in links]
    findings += _check_refs(audits, set(files), _folders(files))
    findings.sort(key=lambda f: (f.file, f.line, f.rule, f.message))
    log.info("audited %d files under %s: %d findings", len(files), root, len(findings))
    return Report(len(files) + len(links), tuple(findings))


def require_pass(path: Path | str, strict_links: bool = False, label: str | None = None) -> Report:
    """Raise ``AuditFailed`` (naming the first findings) when ``path`` has any error; else the report.

    ``label`` names ``path`` in the message when it is a temporary folder the user never sees (then
    the message does not suggest checking it again)."""
    report = audit_dir(path, strict_links=strict_links)
    errors = report.errors
    if errors:
        shown = "; ".join(str(f) for f in errors[:SHOWN_IN_FAILURE])
        more = f" (and {len(errors) - SHOWN_IN_FAILURE} more)" if len(errors) > SHOWN_IN_FAILURE else ""
        hint = "" if label else f" Run `mirror check {path}` to see every finding."
        raise AuditFailed(f"{label or path} failed the audit with {len(errors)} error(s): {shown}{more}.{hint}",
                          errors)
    return report


def _list_files(root: Path) -> tuple[list[str], list[str]]:
    """Regular files (relative POSIX paths, sorted) and symbolic links, without the metadata folder."""
    files, links = [], []
    for folder, dirnames, filenames in os.walk(root):
        rel_folder = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel_folder == "." else f"{rel_folder}/"
        if not prefix:
            dirnames[:] = [d for d in dirnames if d != META_DIR]
        for name in dirnames + filenames:
            if os.path.islink(os.path.join(folder, name)):
                links.append(prefix + name)
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(folder, d)))
        files += [prefix + name for name in filenames if not os.path.islink(os.path.join(folder, name))]
    return sorted(files), sorted(links)


def _folders(files: list[str]) -> set[str]:
    return {rel.rsplit("/", i)[0] for rel in files for i in range(1, rel.count("/") + 1)}


def _audit_file(root: Path, rel: str, strict_links: bool) -> FileAudit:
    suffix = os.path.splitext(rel)[1].lower()
    name = rel.rsplit("/", 1)[-1]
    is_html = suffix in HTML_SUFFIXES or "." not in name
    fa = FileAudit(rel, strict_links, is_page=is_html or suffix in XHTML_SUFFIXES)
    if suffix in SCRIPT_SUFFIXES:
        fa.add(1, "script", f"is a script file ({suffix}); nothing in a mirror may need one")
        return fa
    if not (is_html or suffix in XML_SUFFIXES or suffix == ".css"):
        return fa
    try:
        data = (root / rel).read_bytes()
    except OSError as e:
        fa.is_page = False
        fa.add(1, "unparsable", f"could not be read ({e.strerror})")
        return fa
    if "." not in name and b"<" not in data:
        fa.is_page = False  # extensionless plain text: without a tag nothing can run or load
        return fa
    try:
        if suffix == ".css":
            text, problem = decode_stylesheet(data)
            if problem:
                fa.add(1, "encoding", problem)
            fa.check_css(text, 1, "stylesheet")
        else:
            fa.markup = True
            (audit_html if is_html else audit_xml)(fa, data)
    except Exception as e:  # fail closed: what the audit cannot read, it cannot pass
        log.debug("audit of %s failed", rel, exc_info=True)
        fa.is_page = False  # its policy was not read either: one finding says it all
        fa.add(1, "unparsable", f"could not be audited ({type(e).__name__}: {e}); the audit cannot vouch for it")
    fa.finish()
    return fa


def _symlink_finding(rel: str) -> Finding:
    return Finding(rel, 1, "remote-load", "is a symbolic link; a server could follow it out of the mirror "
                   "(replace it with the file itself)", "error")


def _check_refs(audits: list[FileAudit], files: set[str], folders: set[str]) -> list[Finding]:
    ids = {fa.rel: fa.ids for fa in audits if fa.markup}
    findings = []
    for fa in audits:
        for ref in fa.refs:
            findings += _check_ref(fa.rel, ref, files, folders, ids)
    return findings


def _check_ref(rel: str, ref: Ref, files: set[str], folders: set[str], ids: dict) -> list[Finding]:
    target = _target(rel, ref.path, files, folders)
    if target is None:
        return [Finding(rel, ref.line, "broken-link",
                        f"{ref.what} points to {ref.raw.strip()}, which is not in the mirror", "error")]
    found = []
    fragment = ref.fragment.split(":~:", 1)[0]
    if fragment and target in ids and fragment not in ids[target] and fragment.lower() != "top":
        where = "this page" if target == rel else target
        found.append(Finding(rel, ref.line, "broken-link",
                             f"{ref.what} points to #{fragment}, but {where} has no element with that id", "error"))
    if ref.image and target.lower().endswith(".svg"):
        found.append(Finding(rel, ref.line, "safest",
                             f"{ref.what} shows the SVG image {target}, which Tor Browser hides at Safest", "warning"))
    return found


def _target(rel: str, path: str, files: set[str], folders: set[str]) -> str | None:
    """The file a local path serves: itself, or a folder's index.html; None when there is none."""
    if path == "":
        return rel
    if path.endswith("/"):
        folder = path.strip("/")
    elif path in files:
        return path
    elif path in folders:
        folder = path
    else:
        return None
    index = f"{folder}/index.html" if folder else "index.html"
    return index if index in files else None


# --- presenting a report (the CLI prints these) -----------------------------------------------------

def summary(report: Report) -> str:
    def part(severity: str, noun: str) -> str:
        counts = report.by_rule(severity)
        total = sum(counts.values())
        detail = f" ({', '.join(f'{rule} {n}' for rule, n in counts.items())})" if counts else ""
        return f"{total} {noun}{'' if total == 1 else 's'}{detail}"

    external = sum(1 for f in report.findings if f.rule == "external-link")
    return (f"Checked {report.files} file{'' if report.files == 1 else 's'}: {part('error', 'error')}, "
            f"{part('warning', 'warning')}; {external} external link{'' if external == 1 else 's'}.")


def format_text(report: Report, show_notes: bool = False) -> str:
    """One line per finding (notes, the external links, only when asked), then the summary."""
    lines = [str(f) for f in report.findings if show_notes or f.severity != "note"]
    return "\n".join(lines + [summary(report)])


def format_json(report: Report) -> str:
    return json.dumps({
        "files": report.files,
        "findings": [asdict(f) for f in report.findings],
        "summary": {"errors": report.by_rule("error"), "warnings": report.by_rule("warning"),
                    "notes": report.by_rule("note")},
        "passed": not report.errors,
    }, indent=1, ensure_ascii=False)
