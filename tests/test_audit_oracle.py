"""The audit against a real browser: whatever Chromium (JavaScript on) runs or fetches, the audit flagged.

Every leak construct and XSS vector is loaded as its own site; see tests/audit_oracle.py for how script
and requests are observed without anything leaving the machine.
"""

from __future__ import annotations

import pytest

from mirror import audit
from tests import audit_oracle
from tests.audit_corpora import Vector, leak_vectors, xss_vectors

pytestmark = [pytest.mark.browser, pytest.mark.corpus]

# Controls prove the oracle sees what it must: if these fail, zero false negatives would mean nothing.
CONTROLS = [
    Vector("control", "control-quiet", "index.html", {"index.html": "<p>nothing runs, nothing loads</p>"}),
    Vector("control", "control-inline", "index.html", {"index.html": "<script>var quiet = 1</script>"}),
    Vector("control", "control-handler", "index.html", {"index.html": "<img src=missing.png onerror=alert(1)>"}),
    Vector("control", "control-remote", "index.html", {"index.html": "<img src=http://tracker.example/p.gif>"}),
    Vector("control", "control-preconnect", "index.html",
           {"index.html": '<link rel=preconnect href="http://tracker.example">'}),
    Vector("control", "control-root", "index.html", {"index.html": '<img src="/inside.png">', "inside.png": "x"}),
]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    vectors = CONTROLS + leak_vectors() + xss_vectors()
    root = tmp_path_factory.mktemp("vectors")
    rules = {v.id: {f.rule for f in audit.audit_dir(v.write(root)).findings} for v in vectors}
    rows, seen = audit_oracle.run(vectors, lambda v: rules[v.id])
    print("\n" + audit_oracle.table(rows))
    return rows, seen, rules


def test_the_oracle_sees_script_and_requests(oracle):
    _, seen, _ = oracle
    assert not seen["control-quiet"].executed and not seen["control-quiet"].requested
    assert seen["control-inline"].executed and seen["control-handler"].dialogs == ["1"]
    assert seen["control-remote"].requests == ["http://tracker.example/p.gif"]
    assert not seen["control-preconnect"].requested  # a preconnect is no request: the resolver is the net
    assert not seen["control-root"].requested  # the site's root is inside the site


def test_no_false_negatives(oracle):
    rows, seen, _ = oracle
    missed = [(vid, seen[vid].scripts[:2], seen[vid].dialogs[:2], seen[vid].requests[:2])
              for row in rows for vid in row.false_negatives]
    assert missed == []


def test_the_oracle_would_catch_an_audit_that_flags_nothing(oracle):
    _, seen, _ = oracle
    acting = [vid for vid, obs in seen.items() if obs.executed or obs.requested]
    blind = [vid for vid in acting if audit_oracle.judge(seen[vid], set())[1]]
    assert len(acting) >= 50 and blind == acting


def test_every_leak_that_chromium_fetches_is_a_remote_load(oracle):
    _, seen, rules = oracle
    fetched = [vid for vid, obs in seen.items() if vid.startswith("leak-") and obs.requested]
    assert len(fetched) >= 15
    assert all("remote-load" in rules[vid] or "script" in rules[vid] for vid in fetched)

