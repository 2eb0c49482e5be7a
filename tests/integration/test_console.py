"""The console's parts without a browser: operators and their failure paths, sessions that
expire, the role table, and the HTTP faces a browser never shows (problem documents, refused
actions, bad searches), over a real SQLite store. `hub operators` as a real process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from hub.cli.app import app as app_cli
from hub.cli.output import CommandFailed
from hub.config import Settings
from hub.console.agencies_view import percentile
from hub.console.app import create_console
from hub.console.dead_letters import cause_of
from hub.console.headers import SECURITY_HEADERS
from hub.console.operators import OperatorBook, OperatorError
from hub.console.roles import ROLES, Permission, allows
from hub.console.sessions import SessionBook
from hub.serving import LoopbackServer
from hub.store.engine import WRITE_INTENT, make_engine, make_session_factory
from hub.store.migrate import upgrade
from hub.store.tables import AuditEntry, ConsoleSession

PASSWORD = "a long enough password"


@dataclass
class Store:
    sessions: sessionmaker[Session]
    settings: Settings


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data_dir = tmp_path_factory.mktemp("console-store")
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    book = OperatorBook(sessions)
    book.add("olga", PASSWORD, "operator", actor="test")
    book.add("victor", PASSWORD, "viewer", actor="test")
    yield Store(sessions, settings)
    engine.dispose()


def kinds(store: Store, kind: str) -> list[dict[str, object]]:
    with store.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.kind == kind))
        return [{"actor": r.actor, **r.detail} for r in rows]


@dataclass
class Console:
    url: str

    def client(self) -> httpx.Client:
        """A browser of its own: its own cookies, no redirects followed."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        with self.client() as client:
            return client.get(path, params=params)


@pytest.fixture(scope="module")
def app(store: Store) -> Iterator[Console]:
    with LoopbackServer(create_console(store.settings, store.sessions, ["rop"])) as server:
        yield Console(server.url)


def signed_in(app: Console, name: str) -> tuple[httpx.Client, str]:
    """A client signed in as `name` and its CSRF token."""
    client = app.client()
    page = client.get("/signin")
    pre = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert pre
    response = client.post(
        "/signin", data={"csrf": pre.group(1), "name": name, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text
    overview = client.get("/cases")
    token = re.search(r'name="csrf" value="([^"]+)"', overview.text)
    assert token
    return client, token.group(1)


def test_roles_are_a_table_each_permission_checked() -> None:
    assert [p for p in Permission if allows("viewer", p)] == [Permission.READ]
    assert allows("operator", Permission.REPLAY) and not allows(
        "operator", Permission.PARTNERS_WRITE
    )
    assert all(allows("admin", p) for p in Permission)
    assert not any(allows("root", p) for p in Permission)
    assert set(ROLES) == {"viewer", "operator", "admin"}


@pytest.mark.parametrize(
    ("name", "password", "role", "error"),
    [
        ("bad name!", PASSWORD, "viewer", "invalid operator name"),
        ("nadia", PASSWORD, "superuser", "unknown role"),
        ("nadia", "short", "viewer", "at least 12 characters"),
        ("olga", PASSWORD, "viewer", "already exists"),
    ],
)
def test_an_operator_that_cannot_be_added_changes_nothing(
    store: Store, name: str, password: str, role: str, error: str
) -> None:
    book = OperatorBook(store.sessions)
    before = book.list()
    with pytest.raises(OperatorError, match=error):
        book.add(name, password, role, actor="test")
    assert book.list() == before


def test_removing_an_operator_ends_their_sessions(store: Store) -> None:
    book = OperatorBook(store.sessions)
    book.add("temp.user", PASSWORD, "viewer", actor="test")
    logins = SessionBook(store.sessions, 600, 3600)
    token, _ = logins.open("temp.user")
    assert logins.find(token) is not None
    book.remove("temp.user", actor="test")
    assert logins.find(token) is None
    with pytest.raises(OperatorError, match="no operator"):
        book.remove("temp.user", actor="test")
    assert any(e["operator"] == "temp.user" for e in kinds(store, "console.operator.removed"))


def test_a_session_ends_at_its_absolute_expiry_however_busy(store: Store) -> None:
    logins = SessionBook(store.sessions, 600, 3600)
    token, who = logins.open("olga")
    assert logins.find(token) == who
    with store.sessions.begin() as session:
        session.connection(execution_options=WRITE_INTENT)
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.csrf_token == who.csrf_token)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert logins.find(token) is None
    assert logins.find(token) is None  # and it is gone, not merely refused
    assert logins.find("never issued") is None and logins.find(None) is None


def test_an_unknown_name_and_a_wrong_password_look_the_same(store: Store) -> None:
    book = OperatorBook(store.sessions)
    assert book.authenticate("nobody", PASSWORD, "127.0.0.1") is None
    assert book.authenticate("olga", "wrong password!", "127.0.0.1") is None
    tried = [e["tried"] for e in kinds(store, "console.sign-in-failed")]
    assert {"nobody", "olga"} <= set(tried)


def test_pages_need_a_session_and_posts_say_why_not(app: Console) -> None:
    client = app.client()
    page = client.get("/dead-letters")
    assert page.status_code == 303 and page.headers["location"] == "/signin"
    assert page.headers["x-frame-options"] == "DENY"
    post = client.post("/replay/plan", data={"csrf": "x", "ids": "m"})
    assert post.status_code == 401
    assert post.headers["content-type"].startswith("application/problem+json")


def test_every_response_carries_the_security_headers(app: Console) -> None:
    for path in ("/signin", "/static/console.js", "/no-such-page", "/cases"):
        response = app.get(path)
        missing = [n.decode() for n, _ in SECURITY_HEADERS if n.decode() not in response.headers]
        assert missing == [], (path, response.status_code)


def test_the_language_switch_only_redirects_inside_the_console(app: Console) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "evil", "/\\evil.example"):
        response = app.get("/lang/ar", params={"next": target})
        assert response.headers["location"] == "/"
    assert app.get("/lang/ar", params={"next": "/cases"}).headers["location"] == "/cases"
    assert "hub_lang=ar" in app.get("/lang/ar").headers["set-cookie"]
    assert "set-cookie" not in app.get("/lang/fr").headers


def test_bad_searches_and_unknown_cases_are_clear(app: Console) -> None:
    client, csrf = signed_in(app, "victor")
    assert client.get("/cases", params={"status": "lost"}).status_code == 400
    assert "unknown status" in client.get("/cases", params={"status": "lost"}).text
    assert client.get("/cases", params={"since": "yesterday"}).status_code == 400
    typed_in_the_wrong_box = client.get("/cases", params={"correlationid": "09123456"})
    assert typed_in_the_wrong_box.status_code == 400
    assert "use the civil id search" in typed_in_the_wrong_box.text
    assert "09123456" not in typed_in_the_wrong_box.text
    unknown = client.get("/cases/no-such-case-anywhere")
    assert unknown.status_code == 404 and "no message has the id" in unknown.text
    civil = client.post("/cases/civil-id", data={"csrf": csrf, "civil_id": "12ab"})
    assert civil.status_code == 400 and "8 or 9 digits" in civil.text
    assert client.get("/replay/jobs/not-a-job").status_code == 404


def test_a_viewer_may_not_export_verify_or_switch_faults(store: Store, app: Console) -> None:
    client, csrf = signed_in(app, "victor")
    assert client.get("/audit/export/case-1").status_code == 403
    assert client.post("/audit/verify", data={"csrf": csrf}).status_code == 403
    assert (
        client.post("/agencies/rop/fault", data={"csrf": csrf, "mode": "outage"}).status_code == 403
    )
    assert client.post("/partners/x/revoke", data={"csrf": csrf}).status_code == 403
    refused = {
        e["permission"] for e in kinds(store, "console.refused") if e["operator"] == "victor"
    }
    assert {"personal-data", "replay", "partners-write"} <= refused


def test_a_replay_needs_messages_a_reason_and_a_confirmation(app: Console) -> None:
    client, csrf = signed_in(app, "olga")
    nothing = client.post("/replay/run", data={"csrf": csrf, "reason": "r", "confirm": "yes"})
    assert nothing.status_code == 400 and "at least one message" in nothing.text
    unknown = client.post("/replay/plan", data={"csrf": csrf, "ids": "no-such-message"})
    assert unknown.status_code == 400 and "no message has the id" in unknown.text
    no_filter = client.post("/replay/plan", data={"csrf": csrf})
    assert no_filter.status_code == 400 and "at least one filter" in no_filter.text
    no_reason = client.post("/replay/run", data={"csrf": csrf, "ids": "m-1", "confirm": "yes"})
    assert no_reason.status_code == 400 and "a reason is required" in no_reason.text
    too_long = {"csrf": csrf, "ids": "m-1", "reason": "r" * 501, "confirm": "yes"}
    assert "at most 500" in client.post("/replay/run", data=too_long).text
    unconfirmed = client.post("/replay/run", data={"csrf": csrf, "ids": "m-1", "reason": "r"})
    assert unconfirmed.status_code == 400 and "confirm the replay" in unconfirmed.text


def test_an_unknown_fault_or_missing_simulators_change_nothing(app: Console) -> None:
    client, csrf = signed_in(app, "olga")
    response = client.post("/agencies/rop/fault", data={"csrf": csrf, "mode": "outage"})
    assert response.status_code == 400
    assert "no simulators are running" in response.json()["detail"]


def test_sign_out_ends_the_session(store: Store, app: Console) -> None:
    client, csrf = signed_in(app, "olga")
    assert client.post("/signout", data={"csrf": csrf}).status_code == 303
    assert client.get("/cases").headers["location"] == "/signin"
    assert any(e["operator"] == "olga" for e in kinds(store, "console.signed-out"))


def test_causes_group_by_their_words_and_percentiles_by_rank() -> None:
    assert cause_of("rop: timeout after 5.0 s (attempt 3)") == cause_of(
        "rop: timeout after 12.5 s (attempt 1)"
    )
    assert cause_of(None) == "(no error recorded)"
    assert percentile([], 0.5) is None
    assert percentile([10, 20, 30, 40], 0.5) == 20
    assert percentile([10, 20, 30, 40], 0.99) == 40


def test_operators_from_the_command_line(tmp_path: Path) -> None:
    """`hub operators` in process (Typer's runner): each command parses, calls the book, and
    fails with a one-line CommandFailed."""
    runner = CliRunner()
    env = {"HUB_DATA_DIR": str(tmp_path)}
    add = ["operators", "add", "duty.one", "--role", "operator", "--password-stdin"]
    added = runner.invoke(app_cli, add, input=PASSWORD + "\n", env=env)
    assert added.exit_code == 0, added.output
    twice = runner.invoke(app_cli, add, input=PASSWORD + "\n", env=env)
    assert isinstance(twice.exception, CommandFailed) and "already exists" in str(twice.exception)
    listed = runner.invoke(app_cli, ["operators", "list"], env=env)
    assert "duty.one" in listed.output and "operator" in listed.output
    assert runner.invoke(app_cli, ["operators", "remove", "duty.one"], env=env).exit_code == 0
    again = runner.invoke(app_cli, ["operators", "remove", "duty.one"], env=env)
    assert isinstance(again.exception, CommandFailed) and "no operator" in str(again.exception)
    differ = runner.invoke(
        app_cli, ["operators", "add", "duty.two"], input="a" * 12 + "\nb" * 1 + "\n", env=env
    )
    assert isinstance(differ.exception, CommandFailed) and "differ" in str(differ.exception)


def test_repeated_failed_sign_ins_are_throttled(store: Store) -> None:
    # A day-long window: the throttle's fixed windows start on the clock, and a shorter one
    # could begin between the failures and the refused attempt (seen under load).
    settings = store.settings.model_copy(update={"auth_fail_limit": 2, "auth_fail_window_s": 86400})
    with LoopbackServer(create_console(settings, store.sessions, ["rop"])) as server:
        client = Console(server.url).client()
        pre = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
        assert pre
        form = {"csrf": pre.group(1), "name": "olga", "password": "wrong password!!"}
        assert [client.post("/signin", data=form).status_code for _ in range(2)] == [401, 401]
        refused = client.post("/signin", data=form | {"password": PASSWORD})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "hub_console=" not in refused.headers.get("set-cookie", "")
