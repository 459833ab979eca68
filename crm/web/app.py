"""The web view's pages and actions (Flask), over a :class:`crm.web.backend.Backend`.

Safety, since every field on these pages comes from strangers' mail:
- Jinja autoescaping on every template; a body or attachment text is shown in ``<pre>``
  as text, a raw mail is only downloaded (``message/rfc822``, ``attachment``, nosniff);
- a strict Content-Security-Policy: nothing inline, scripts and styles from this origin;
- every POST carries the session's CSRF token (the cookie is SameSite=Strict too);
- only ``127.0.0.1``/``localhost`` Host headers are served (no DNS rebinding).
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response as BaseResponse

from crm.errors import UsageError
from crm.web.backend import Backend, timeline_text
from crm.web.charts import score_chart, weekly_chart
from projections.queries import Filters

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
TEXT_FILTERS = ("status", "company", "contact", "title", "source", "month", "followup_due")
MONTH = re.compile(r"\d{4}-\d{2}")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def filters_from(args: Any) -> tuple[Filters, dict[str, str]]:
    """The pipeline's filters from the query string, and the non-empty ones as given."""
    given = {name: args.get(name, "").strip() for name in (*TEXT_FILTERS, "min_score")}
    given = {k: v for k, v in given.items() if v}
    min_score = None
    if "min_score" in given:
        try:
            min_score = int(given["min_score"])
        except ValueError:
            raise UsageError(f"min score {given['min_score']!r} is not a whole number") from None
    if "month" in given and not MONTH.fullmatch(given["month"]):
        raise UsageError(f"month {given['month']!r} is not YYYY-MM")
    return Filters(**{k: given.get(k) for k in TEXT_FILTERS}, min_score=min_score), given


def _limit(value: str | None) -> int:
    try:
        return int(value or 50)
    except ValueError:
        raise UsageError(f"limit {value!r} is not a whole number") from None


def create_app(backend: Backend, *, secret_key: bytes | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),  # a new key per start: sessions end with the server
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        TRUSTED_HOSTS=["127.0.0.1", "localhost"],  # any port: a rebound DNS name is what this refuses
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.jinja_env.autoescape = True  # every template, whatever its name

    def csrf_token() -> str:
        token = session.get("csrf")
        if not isinstance(token, str):
            token = session["csrf"] = secrets.token_urlsafe(32)
        return token

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["timeline_text"] = timeline_text

    @app.before_request
    def check_csrf() -> None:
        if request.method == "POST":
            expected, given = session.get("csrf"), request.form.get("csrf_token", "")
            if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
                abort(400, "missing or wrong CSRF token: reload the page and try again")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(UsageError)
    def bad_input(exc: UsageError) -> tuple[str, int]:
        return render_template("error.html", code=400, message=str(exc)), 400

    @app.errorhandler(FileNotFoundError)
    def not_found(exc: FileNotFoundError) -> tuple[str, int]:
        return render_template("error.html", code=404, message=str(exc)), 404

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int] | BaseResponse:
        code = exc.code or 500
        if isinstance(exc, SecurityError):  # an untrusted Host: nothing of the app, not even its links
            return Response("untrusted Host header: open http://127.0.0.1:PORT/", 400, mimetype="text/plain")
        return render_template("error.html", code=code, message=exc.description or exc.name), code

    # --- pages ------------------------------------------------------------------------------

    @app.get("/")
    def pipeline() -> str:
        filters, given = filters_from(request.args)
        limit = _limit(request.args.get("limit"))
        page = backend.conversations(filters, limit=limit, next_token=request.args.get("next_token") or None)
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in page["items"]:
            groups.setdefault(str(item.get("status", "?")), []).append(item)
        order = [s for s in backend.statuses if s in groups] + sorted(set(groups) - set(backend.statuses))
        next_url = None
        if page.get("next_token"):
            next_url = url_for("pipeline") + "?" + urlencode({**given, "limit": limit, "next_token": page["next_token"]})
        return render_template(
            "pipeline.html",
            groups=[(s, groups[s]) for s in order],
            given=given,
            limit=limit,
            counts=backend.status_counts(),
            statuses=backend.statuses,
            next_url=next_url,
            shown=len(page["items"]),
        )

    @app.get("/conversations/<conversation_id>")
    def conversation(conversation_id: str) -> str:
        story = backend.conversation(conversation_id)
        return render_template(
            "conversation.html",
            cid=conversation_id,
            item=story["conversation"],
            timeline=story["timeline"],
            statuses=backend.statuses,
        )

    @app.get("/conversations/<conversation_id>/raw/<ses_message_id>")
    def raw(conversation_id: str, ses_message_id: str) -> Response:
        return _download(backend.raw_mail(ses_message_id, conversation_id), ses_message_id)

    @app.get("/conversations/<conversation_id>/mail/<ses_message_id>")
    def mail(conversation_id: str, ses_message_id: str) -> str:
        return render_template(
            "mail.html",
            mail=backend.mail(ses_message_id, conversation_id),
            ses_id=ses_message_id,
            raw_url=url_for("raw", conversation_id=conversation_id, ses_message_id=ses_message_id),
            back=url_for("conversation", conversation_id=conversation_id),
        )

    @app.get("/quarantine/<ses_message_id>/mail")
    def quarantined_mail(ses_message_id: str) -> str:
        return render_template(
            "mail.html",
            mail=backend.mail(ses_message_id),
            ses_id=ses_message_id,
            raw_url=url_for("quarantined_raw", ses_message_id=ses_message_id),
            back=url_for("quarantine"),
        )

    @app.get("/quarantine/<ses_message_id>/raw")
    def quarantined_raw(ses_message_id: str) -> Response:
        return _download(backend.raw_mail(ses_message_id), ses_message_id)

    @app.get("/followups")
    def followups() -> str:
        now = request.args.get("now", "").strip() or None
        return render_template("followups.html", items=backend.followups_due(now), now=now or "")

    @app.get("/quarantine")
    def quarantine() -> str:
        return render_template("quarantine.html", records=backend.quarantine())

    @app.get("/dlq")
    def dlq() -> str:
        return render_template("dlq.html", records=backend.dlqs())

    @app.get("/rules")
    def rules() -> str:
        return render_template("rules.html", records=backend.rules())

    @app.get("/stats")
    def stats() -> str:
        data = backend.stats()
        return render_template("stats.html", weekly=weekly_chart(data["weeks"]), scores=score_chart(data["scores"]), stats=data)

    # --- actions: each the same function as its CLI command ---------------------------------

    @app.post("/conversations/<conversation_id>/status")
    def set_status(conversation_id: str) -> BaseResponse:
        status = request.form.get("status", "")
        backend.set_status(conversation_id, status, request.form.get("note", "").strip() or None)
        flash(f"status set to {status}")
        return redirect(url_for("conversation", conversation_id=conversation_id), 303)

    @app.post("/quarantine/<ses_message_id>/release")
    def release(ses_message_id: str) -> BaseResponse:
        result = backend.release(ses_message_id)
        flash(f"released {ses_message_id}: {result['outcome']} → conversation {result.get('conversation_id') or '-'}")
        return redirect(url_for("quarantine"), 303)

    @app.post("/dlq/<queue>/redrive")
    def redrive(queue: str) -> BaseResponse:
        known = {r["queue"] for r in backend.dlqs()}
        if queue not in known:
            raise UsageError(f"no queue {queue!r}; known: {', '.join(sorted(known))}")
        moved = backend.redrive(queue)
        flash(f"redrove {moved} message(s) from {queue}-dlq to {queue}")
        return redirect(url_for("dlq"), 303)

    @app.post("/followups/run")
    def run_followups() -> BaseResponse:
        fired = backend.run_followups(request.form.get("now", "").strip() or None)
        flash(f"{len(fired)} follow-up(s) fired" + "".join(f"; {f['kind']} for {f['conversation_id']}" for f in fired))
        return redirect(url_for("followups"), 303)

    return app


def _download(raw: bytes, ses_message_id: str) -> Response:
    """The mail as a file to save, never a page: a raw HTML part stays inert."""
    name = SAFE_NAME.sub("_", ses_message_id)[:100] or "mail"
    return Response(raw, mimetype="message/rfc822", headers={"Content-Disposition": f'attachment; filename="{name}.eml"'})
