"""How `hub demo` shows what happened: one row per flow, scenario and outcome."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.demo.cases import DemoCase
from hub.demo.payments import PaymentCase
from hub.demo.sms import SmsCase

STOPPED_TYPE = "hub.message.stopped"  # not a hub event: a failed or dead message, for the summary
LABELS = {
    "permit.parking.requested": "parking permit",
    "licence.renewal.requested": "licence renewal",
    "licence.issue.requested": "new licence",
    "permit.building.issued": "building permit",
    "violation.parking.paid": "parking fine",
    "moci.cr.status-changed": "MOCI push",
    "electricity.connection.completed": "electricity push",
    "rop.ownership.transferred": "ROP push",
}
CHECK_LABELS = {
    "commercial-registration": "CR",
    "chamber-membership": "chamber",
    "labour-standing": "labour",
    "civil-defence": "civil defence",
    "electricity-account": "electricity",
}
STYLES = {
    "issued": "green",
    "approved": "green",
    "settled": "green",
    "electricity requested": "green",
    "connected": "green",
    "refused": "yellow",
    "rejected": "red",
    "not-found": "yellow",
    "failed": "red",
    "dead": "red",
    "suspended": "magenta",
    "flagged": "magenta",
    "booked": "green",
    "extended": "green",
    "unparseable": "yellow",
}


def outcome(result: dict[str, Any]) -> tuple[str, str]:
    """(outcome, detail) of one result, whatever its type."""
    data, kind = result["data"], result["type"]
    if kind == "hub.message.rejected":
        return "rejected", ", ".join(e["field"] for e in data["errors"])
    if kind == "permit.parking.completed":
        return data["decision"], ", ".join(r["code"] for r in data["reasons"]) or "-"
    if kind in ("licence.renewal.completed", "licence.issue.completed"):
        failing = [CHECK_LABELS[c["check"]] for c in data["checks"] if c["outcome"] == "fail"]
        return data["decision"], ", ".join(failing) or "all 5 checks pass"
    if kind == "permit.building.electricity-requested":
        return "electricity requested", data["request_no"]
    if kind == "permit.building.electricity-connected":
        return "connected", data["meter_no"]
    if kind == "violation.parking.settled":
        return data["outcome"], data.get("settlement_reference", "-")
    if kind == STOPPED_TYPE:  # no result: failed or dead, waiting for an operator
        return data["status"], data["last_error"].split(": ", 1)[-1][:60]
    if kind == "licence.suspended":
        return "suspended", data["licence_no"]
    if kind == "permit.parking.flagged":
        return "flagged", data["permit_no"]
    return kind, "-"


def render(
    console: Console,
    cases: list[DemoCase],
    results: list[dict[str, Any]],
    elapsed_s: float,
    log_path: str,
    fault: str,
    sms: list[SmsCase] | None = None,
) -> None:
    by_id = {case.event_id: case for case in cases}
    tally: Counter[tuple[str, str, str, str]] = Counter()
    for result in results:
        case = by_id[result["causationid"]]
        status, detail = outcome(result)
        if status in ("electricity requested", "connected", "settled", "suspended", "flagged"):
            detail = "-"  # the numbers differ per case; the count says enough
        scenario = "weak establishment" if case.scenario.startswith("weak:") else case.scenario
        tally[(LABELS.get(case.type, case.type), scenario, status, detail)] += 1
    for message in sms or []:
        why = "reply sent" if message.reply else "no reply"
        tally[("SMS parking", message.scenario, message.outcome or "unanswered", why)] += 1
    table = Table(title="What happened")
    for column in ("request", "scenario", "outcome", "why", "n"):
        table.add_column(column)
    for (kind, scenario, status, detail), number in sorted(tally.items()):
        style = STYLES.get(status, "")
        table.add_row(kind, scenario, f"[{style}]{status}[/]", detail, str(number))
    console.print(table)
    _show_a_refusal(console, results)
    answered = {r["causationid"] for r in results if r["type"] != STOPPED_TYPE}
    stopped = {r["causationid"] for r in results if r["type"] == STOPPED_TYPE}
    ids_per_cause = Counter((r["causationid"], r["id"]) for r in results)
    repeated = sum(n - 1 for n in ids_per_cause.values())
    twice = sum(1 for c in cases if c.send_twice)
    console.print(
        f"{len(cases)} requests sent ({twice} of them twice), {len(answered)} answered, "
        f"{repeated} duplicate results, {len(stopped)} waiting for an operator (failed or "
        f"dead), {len(cases) - len(answered) - len(stopped)} unanswered, "
        f"{elapsed_s:.1f} s. Fault part-way: {fault}. Logs: {log_path}",
        highlight=False,
    )
    if sms:
        _sms_summary(console, sms)


def _sms_summary(console: Console, sms: list[SmsCase]) -> None:
    """The SMS line, and a reply in each language as the resident's phone shows it."""
    telcos = ", ".join(dict.fromkeys(m.telco for m in sms))
    replied = sum(1 for m in sms if m.reply)
    booked = sum(1 for m in sms if m.outcome == "booked")
    extended = sum(1 for m in sms if m.outcome == "extended")
    console.print(
        f"SMS parking: {len(sms)} messages through {telcos}, {replied} replied, "
        f"{booked} booked, {extended} extended, {len(sms) - booked - extended} refused.",
        highlight=False,
    )
    for language in ("en", "ar"):
        reply = next((m.reply for m in sms if m.language == language and m.outcome == "booked"), "")
        if reply:
            console.print(f"  {reply}", highlight=False)


def _show_a_refusal(console: Console, results: list[dict[str, Any]]) -> None:
    """One refusal as the portal and the Baladiyati app show it, in English and Arabic."""
    for result in results:
        data = result["data"]
        if result["type"].startswith("licence.") and data.get("decision") == "rejected":
            reason = next(c["reason"] for c in data["checks"] if c["outcome"] == "fail")
        elif result["type"] == "permit.parking.completed" and data["decision"] == "refused":
            reason = data["reasons"][0]
        else:
            continue
        console.print("A refusal as the Baladiyati app shows it:")
        console.print(f"  {reason['en']}\n  {reason['ar']}")
        return


def show_payments(console: Console, payments: list[PaymentCase]) -> None:
    """The paid cases: what was billed, through whom, and what the payment completed."""
    if not payments:
        return
    table = Table(title="Payments")
    for column in ("service", "case", "provider", "amount (OMR)", "payment", "outcome"):
        table.add_column(column)
    for case in payments:
        cells = (case.service, case.case, case.provider, case.amount, case.payment_id, case.outcome)
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)
