"""`make lint`'s dependency audit: pip-audit over the pinned requirements, then over what the
virtualenv actually has installed (the pins' own dependencies included).

pip-audit asks a vulnerability service over the network: PyPI's JSON API per release, else OSV.
A known vulnerability fails the lint. A service that cannot be reached (no network, a mirror
without the per-release JSON API, a resolver that does not know api.osv.dev) is reported loudly
as "NOT AUDITED" and does not fail the lint, since that says nothing about the code; set
AUDIT_STRICT=1 (a CI with network) to make it fail too.

Exit status: 0 audited and clean, or not audited for a network reason; 1 otherwise.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
SERVICES = ("pypi", "osv")
TIMEOUT_S = 20
# What pip-audit prints when the service cannot be reached, as opposed to a real failure.
NETWORK_ERROR = re.compile(
    r"ConnectionError|NameResolutionError|Max retries exceeded|Temporary failure in name "
    r"resolution|Name or service not known|timed out|ReadTimeout|ConnectTimeout|SSLError|"
    r"ProxyError|Network is unreachable|Connection refused"
)


@dataclass
class Outcome:
    audited: int = 0
    vulnerable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unreachable: str = ""  # why no service could audit anything
    failed: str = ""  # pip-audit itself failed, not for a network reason


def _run(target: list[str], service: str) -> Outcome:
    command = [
        str(PIP_AUDIT),
        *target,
        "--vulnerability-service",
        service,
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        str(TIMEOUT_S),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if NETWORK_ERROR.search(done.stderr):
            return Outcome(unreachable=f"{service}: {last[:300]}")
        return Outcome(failed=f"{service}: exit {done.returncode}: {last[:300]}")
    outcome = Outcome()
    for dependency in report.get("dependencies", []):
        name = f"{dependency['name']} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            outcome.skipped.append(f"{name}: {dependency['skip_reason']}")
            continue
        outcome.audited += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
            outcome.vulnerable.append(f"{name}: {vuln['id']} (fixed in {fixed})")
    if outcome.audited == 0 and outcome.skipped:
        outcome.unreachable = (
            f"{service}: answered for none of {len(outcome.skipped)} packages "
            f"(first: {outcome.skipped[0]})"
        )
    return outcome


def audit(label: str, target: list[str]) -> Outcome:
    """The first service that audits anything decides; the others are tried when it cannot."""
    reasons = []
    for service in SERVICES:
        outcome = _run(target, service)
        if outcome.failed or not outcome.unreachable:
            print(f"pip-audit ({label}, {service}): {outcome.audited} packages audited", end="")
            print(f", {len(outcome.skipped)} skipped" if outcome.skipped else "")
            return outcome
        reasons.append(outcome.unreachable)
    return Outcome(unreachable="; ".join(reasons))


def main() -> int:
    strict = os.environ.get("AUDIT_STRICT", "") not in ("", "0")
    targets = {
        "pinned requirements": [
            "--requirement",
            "requirements.txt",
            "--requirement",
            "requirements-dev.txt",
            "--no-deps",
            "--disable-pip",
        ],
        "installed virtualenv": [],
    }
    status = 0
    for label, target in targets.items():
        outcome = audit(label, target)
        for line in outcome.vulnerable:
            print(f"  VULNERABLE {line}")
        for line in outcome.skipped:
            print(f"  skipped {line}")
        if outcome.failed:
            print(f"pip-audit ({label}) FAILED: {outcome.failed}")
            status = 1
        elif outcome.unreachable:
            print(
                f"pip-audit ({label}): NOT AUDITED, no vulnerability service reachable from "
                f"here: {outcome.unreachable}"
            )
            if strict:
                status = 1
            else:
                print(
                    "  (a network problem, not a finding: the lint goes on; AUDIT_STRICT=1 fails)"
                )
        elif outcome.vulnerable:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
