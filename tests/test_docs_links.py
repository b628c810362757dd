"""Every relative link in the project's Markdown points at a file that exists, and every anchor at
a heading of its target, by GitHub's rules for heading anchors.

Checked: README.md, BENCHMARKS.md, CHANGELOG.md and docs/*.md. Links to http(s) and mailto are
not followed; links inside fenced code blocks and inline code are not links. Runs in the test
process, reads files only, and needs nothing beyond pytest.
"""

import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ["README.md", "BENCHMARKS.md", "CHANGELOG.md"] + sorted(
    os.path.relpath(path, ROOT) for path in glob.glob(os.path.join(ROOT, "docs", "*.md"))
)

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) or [text](target "title"); an image ![alt](src) is checked the same way.
LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^\s)>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # http:, https:, mailto:, ...


def prose_lines(text, blank_code=True):
    """(line number, line) for each line outside fenced code blocks, inline code blanked out
    unless blank_code is false (a heading's code spans are part of its anchor)."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            continue
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if blank_code:
            line = INLINE_CODE.sub(lambda code: " " * len(code.group(0)), line)
        yield number, line


def slug(heading):
    """GitHub's anchor for a heading's text: links reduced to their text, lowercased, every
    character but letters, digits, spaces, hyphens and underscores dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    """The anchors of a Markdown file's headings; a repeated one gets -1, -2, ... as on GitHub."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    seen = {}
    found = set()
    for _, line in prose_lines(text, blank_code=False):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        anchor = base
        if base in seen:
            seen[base] += 1
            anchor = "%s-%d" % (base, seen[base])
        else:
            seen[base] = 0
        found.add(anchor)
    return found


def broken_links(relpath, root=ROOT):
    """'file:line: [text](target): why' for each relative link of relpath that leads nowhere."""
    path = os.path.join(root, relpath)
    with open(path, encoding="utf-8") as file:
        text = file.read()
    problems = []
    for number, line in prose_lines(text):
        for match in LINK.finditer(line):
            label, target = match.group(1), match.group(2)
            if EXTERNAL.match(target):
                continue
            where = "%s:%d: [%s](%s)" % (relpath, number, label, target)
            file_part, _, anchor = target.partition("#")
            destination = (
                os.path.normpath(os.path.join(os.path.dirname(path), file_part))
                if file_part
                else path
            )
            if not os.path.exists(destination):
                problems.append("%s: no such file %s" % (where, os.path.relpath(destination, root)))
                continue
            if not anchor:
                continue
            if not destination.endswith(".md") or os.path.isdir(destination):
                problems.append("%s: an anchor into a file that is not Markdown" % where)
            elif anchor not in anchors(destination):
                problems.append(
                    "%s: no heading with anchor #%s in %s"
                    % (where, anchor, os.path.relpath(destination, root))
                )
    return problems


@pytest.mark.parametrize("relpath", FILES)
def test_relative_links_lead_somewhere(relpath):
    assert os.path.exists(os.path.join(ROOT, relpath)), relpath
    problems = broken_links(relpath)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_docs_exist():
    assert [path for path in FILES if path.startswith("docs" + os.sep)], "docs/*.md is empty"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Cost", "cost"),
        ("Who is affected", "who-is-affected"),
        ("The doctor: `python -m backport_gh115634`", "the-doctor-python--m-backport_gh115634"),
        ("Thread safety, reload, logging", "thread-safety-reload-logging"),
        ("3.11's break path (gh-109047)", "311s-break-path-gh-109047"),
        ("[Unreleased]", "unreleased"),
        ("[0.1.0] - 2026-12-02", "010---2026-12-02"),
        ("See [the doctor](docs/doctor.md)", "see-the-doctor"),
    ],
)
def test_slug_follows_github(heading, anchor):
    assert slug(heading) == anchor


def test_a_broken_link_is_named_by_file_and_line(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# Title\n\n## Twice\n\n## Twice\n\n## With `code()`\n", encoding="utf-8"
    )
    (tmp_path / "README.md").write_text(
        "\n".join(
            [
                "# Top",
                "[fine](docs/a.md) [fine](docs/a.md#twice) [fine](docs/a.md#twice-1)",
                "[fine](#top) [web](https://example.org/x.md) [mail](mailto:a@b.c)",
                "`[code](nowhere.md)` [fine](docs/a.md#with-code)",
                "```",
                "[fenced](nowhere.md)",
                "```",
                "[missing](docs/b.md)",
                "[bad anchor](docs/a.md#twice-2)",
                "[bad local](#nowhere)",
            ]
        ),
        encoding="utf-8",
    )
    assert broken_links("README.md", root=str(tmp_path)) == [
        "README.md:8: [missing](docs/b.md): no such file " + os.path.join("docs", "b.md"),
        "README.md:9: [bad anchor](docs/a.md#twice-2): no heading with anchor #twice-2 in "
        + os.path.join("docs", "a.md"),
        "README.md:10: [bad local](#nowhere): no heading with anchor #nowhere in README.md",
    ]
