"""Every page and action of `crm web` through Flask's test client, on the demo state in
one running local stack; each action is checked against what its CLI command records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import XSS_HTML, XSS_SUBJECT, running_stack

JANE = "jane.doe@acmerobotics.com"


@pytest.fixture(scope="module")
def stack(demo_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_stack(demo_state, tmp_path_factory.mktemp("web-app")) as running:
        yield running


@pytest.fixture(scope="module")
def svc(stack: Any) -> Any:
    return stack.svc


@pytest.fixture(scope="module")
def client(svc: Any) -> FlaskClient:
    from crm.web.app import create_app
    from crm.web.backend import CrmBackend

    app = create_app(CrmBackend(svc))
    return app.test_client()


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def conversation_id(svc: Any, contact: str) -> str:
    from crm.views import table

    items = [i for i in table(svc).scan() if i.get("contact") == contact]
    assert len(items) == 1, items
    return str(items[0]["id"])


def event_types(svc: Any, stream: str) -> list[str]:
    return [e.type for e in svc.store.read(stream)]


class Texts(HTMLParser):
    """The page's text, and its elements with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Texts:
    parser = Texts()
    parser.feed(html)
    return parser


# --- pages -------------------------------------------------------------------------------


def test_pipeline_groups_by_status_with_counts_and_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    groups = re.findall(r'<section class="group" data-status="([^"]+)">', page)
    assert groups == ["new", "replied"]  # the settings' order of statuses, only those present
    assert re.search(r'data-status="new">new <b>4</b>', page)  # Priya, Mark, Mallory, Bill
    assert re.search(r'data-status="replied">replied <b>1</b>', page)
    assert page.count('class="conversation"') == 5


def test_pipeline_filters_are_the_cli_queries(svc: Any, client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    from crm.cli import parser
    from crm.views import list_conversations

    for query, argv in (
        ({"company": "acme robotics"}, ["--company", "acme robotics"]),
        ({"status": "new"}, ["--status", "new"]),
        ({"min_score": "50"}, ["--min-score", "50"]),
        ({"status": "new", "company": "Globex"}, ["--status", "new", "--company", "Globex"]),
    ):
        page = client.get("/", query_string=query).get_data(as_text=True)
        shown = re.findall(r'<tr class="conversation" data-id="([^"]+)">', page)
        expected = list_conversations(svc, parser().parse_args(["conversations", *argv]))
        assert sorted(shown) == sorted(i["id"] for i in expected["items"]), query
        assert shown, query


def test_pipeline_pages_with_the_next_token(client: FlaskClient) -> None:
    seen: list[str] = []
    url = "/?limit=2"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r'<tr class="conversation" data-id="([^"]+)">', page)
        found = re.search(r'<a href="([^"]+)" id="next-page"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert len(seen) == 5 and len(set(seen)) == 5


@pytest.mark.parametrize(
    "query, message",
    [
        ({"min_score": "lots"}, "not a whole number"),
        ({"month": "December"}, "not YYYY-MM"),
        ({"limit": "0"}, "between 1 and 1000"),
    ],
)
def test_bad_filters_answer_400_naming_the_problem(client: FlaskClient, query: dict[str, str], message: str) -> None:
    response = client.get("/", query_string=query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_conversation_page_has_fields_score_reasons_timeline_and_attachment_text(svc: Any, client: FlaskClient) -> None:
    cid = conversation_id(svc, JANE)
    page = client.get(f"/conversations/{cid}").get_data(as_text=True)
    text = " ".join(parsed(page).text)
    assert "Staff Platform Engineer role at Acme Robotics" in text and "180-210k" in text
    assert "company Acme Robotics (+20)" in text  # a lead score reason
    assert 'class="event MessageReceived"' in page and 'class="event ReplyDelivered"' in page
    assert re.search(r'<pre class="attachment">[^<]+</pre>', page)  # the job description's first lines
    assert client.get("/conversations/nobody-here").status_code == 404


def test_raw_mail_downloads_as_received_and_never_renders(svc: Any, client: FlaskClient) -> None:
    cid = conversation_id(svc, JANE)
    page = client.get(f"/conversations/{cid}").get_data(as_text=True)
    links = re.findall(r'href="(/conversations/[^"]+/raw/[^"]+)"', page)
    assert len(links) == 2  # two mails in, each downloadable
    received = [e.event for e in svc.store.read(f"conversation#{cid}") if e.type == "MessageReceived"]
    for link, event in zip(links, received, strict=True):
        response = client.get(link)
        assert response.status_code == 200
        assert response.mimetype == "message/rfc822"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.data == svc.blobs.get(event.raw_key, event.bucket)  # type: ignore[attr-defined]
    # only mails the events name: another conversation's id does not reach them
    assert (
        client.get(
            f"/conversations/{conversation_id(svc, 'mark.lee@globex.com')}/raw/{received[0].ses_message_id}"  # type: ignore[attr-defined]
        ).status_code
        == 404
    )


def test_hostile_fields_render_as_text(svc: Any, client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert XSS_SUBJECT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert [attrs for tag, attrs in parsed(page).tags if tag == "script"] == [("defer", "src")]  # app.js only
    cid = conversation_id(svc, "mallory@evil-corp.test")
    page = client.get(f"/conversations/{cid}").get_data(as_text=True)
    texts = parsed(page)
    assert [attrs for tag, attrs in texts.tags if tag == "script"] == [("defer", "src")]
    assert not [tag for tag, attrs in texts.tags if tag == "img" or "onerror" in attrs]
    assert "id='injected'" not in page and 'id="injected"' not in page
    shown = " ".join(texts.text)
    assert XSS_SUBJECT in shown  # shown, as text
    assert "Mallory <img src=x onerror=alert(3)>" in shown
    read = re.findall(r'<a class="read" href="([^"]+)"', page)
    assert len(read) == 1
    page = client.get(read[0]).get_data(as_text=True)
    texts = parsed(page)
    assert [tag for tag, _ in texts.tags if tag in ("h1", "img", "script")] == ["script"]  # app.js
    assert XSS_HTML in " ".join(texts.text)  # the raw HTML body, as text
    assert "text/html — its source, shown as text" in " ".join(texts.text)


def test_followups_quarantine_dlq_rules_and_charts_pages(client: FlaskClient) -> None:
    due = client.get("/followups", query_string={"now": "2100-01-01T00:00:00Z"}).get_data(as_text=True)
    assert "Nothing is due." not in due  # the demo's new conversations have follow-ups scheduled
    quarantine = client.get("/quarantine").get_data(as_text=True)
    assert "Partnership inquiry" in quarantine and "promo@cheap-pills-win.biz" in quarantine
    assert quarantine.count('class="release"') == 2
    dlq = client.get("/dlq").get_data(as_text=True)
    assert "crm-ack-dlq" in dlq
    rules = client.get("/rules").get_data(as_text=True)
    assert "lead-scoring" in rules or "lead_scoring" in rules
    assert re.search(r"[1-9]\d* matching event\(s\)", rules)
    charts = client.get("/stats").get_data(as_text=True)
    assert charts.count("<svg") == 2
    assert re.search(r"<title>\d{4}-\d{2}-\d{2} quarantined: 2</title>", charts)
    assert re.search(r"<title>\d{4}-\d{2}-\d{2} accepted: \d+</title>", charts)


# --- CSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/followups/run", "/quarantine/x/release", "/dlq/crm-ack/redrive", "/conversations/x/status"])
def test_every_post_without_the_session_token_is_refused(svc: Any, client: FlaskClient, path: str) -> None:
    before = len(svc.store.all_events())
    assert client.post(path, data={}).status_code == 400
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 400
    fresh = client.application.test_client()  # another browser: its own session, no token
    token = csrf(client, "/followups")
    assert fresh.post(path, data={"csrf_token": token}).status_code == 400
    assert len(svc.store.all_events()) == before


def test_an_untrusted_host_is_refused(client: FlaskClient) -> None:
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


# --- actions (same functions, same events as the CLI) ----------------------------------------


def test_set_status_records_the_event_the_cli_records(svc: Any, client: FlaskClient) -> None:
    cid = conversation_id(svc, "mark.lee@globex.com")
    token = csrf(client, f"/conversations/{cid}")
    response = client.post(f"/conversations/{cid}/status", data={"csrf_token": token, "status": "closed", "note": "not for me"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "status set to closed" in page and '<dd id="status">closed</dd>' in page
    assert event_types(svc, f"conversation#{cid}")[-1] == "ConversationStatusChanged"
    bad = client.post(f"/conversations/{cid}/status", data={"csrf_token": token, "status": "married"})
    assert bad.status_code == 400 and "is not allowed" in bad.get_data(as_text=True)


def test_release_continues_the_mail_into_the_pipeline(svc: Any, client: FlaskClient) -> None:
    from crm.spam_admin import quarantined

    record = next(r for r in quarantined(svc) if r["subject"] == "Partnership inquiry")
    token = csrf(client, "/quarantine")
    response = client.post(f"/quarantine/{record['id']}/release", data={"csrf_token": token})
    assert response.status_code == 303
    assert "released" in client.get("/quarantine").get_data(as_text=True)
    assert event_types(svc, f"quarantine#{record['id']}")[-1] == "SpamReleased"
    page = client.get("/", query_string={"contact": "bob@smithconsulting.io"}).get_data(as_text=True)
    assert "Partnership inquiry" in page
    # released once, however often
    again = client.post(f"/quarantine/{record['id']}/release", data={"csrf_token": token})
    assert again.status_code == 303
    assert event_types(svc, f"quarantine#{record['id']}").count("SpamReleased") == 1


def test_run_followups_fires_what_is_due(svc: Any, client: FlaskClient) -> None:
    token = csrf(client, "/followups")
    response = client.post("/followups/run", data={"csrf_token": token, "now": "2100-01-01T00:00:00Z"})
    assert response.status_code == 303
    page = client.get("/followups").get_data(as_text=True)
    fired = re.search(r"(\d+) follow-up\(s\) fired", page)
    assert fired and int(fired.group(1)) >= 1
    assert "FollowUpDue" in [t for s in svc.store.streams("conversation#") for t in event_types(svc, s)]


def test_redrive_refuses_an_unknown_queue_and_moves_a_parked_message(svc: Any, client: FlaskClient) -> None:
    token = csrf(client, "/followups")  # one token per session, whatever page holds it
    unknown = client.post("/dlq/crm-nothing/redrive", data={"csrf_token": token})
    assert unknown.status_code == 400 and "no queue" in unknown.get_data(as_text=True)
    svc.queues.send(svc.settings.queue_name("projector") + "-dlq", "{}", None)
    assert re.search(
        r'data-queue="crm-projector"><td>crm-projector-dlq</td><td class="count">1<', client.get("/dlq").get_data(as_text=True)
    )
    response = client.post("/dlq/crm-projector/redrive", data={"csrf_token": token})
    assert response.status_code == 303
    assert "redrove 1 message(s)" in client.get("/dlq").get_data(as_text=True)
