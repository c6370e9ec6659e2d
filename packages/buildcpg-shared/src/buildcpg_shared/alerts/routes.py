"""Deliver an alert through one route: a JSON-lines log, a Slack-compatible webhook, SMTP e-mail.

Secrets come from env vars named in the config and are masked in every error message.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from buildcpg_shared.alerts.message import Alert
from buildcpg_shared.config.alerts import EmailRoute, LogRoute, Route, WebhookRoute
from buildcpg_shared.errors import AlertDeliveryError, os_problem


def _secret(env_name: str, what: str) -> str:
    value = os.environ.get(env_name, "")
    if not value:
        raise AlertDeliveryError(f"{what}: env var {env_name} is not set")
    return value


def mask(text: str, *secrets: str | None) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def describe(route: Route) -> str:
    """A route in words, without any secret."""
    if isinstance(route, LogRoute):
        return f"log {route.path}"
    if isinstance(route, WebhookRoute):
        return f"webhook ${route.url_env}"
    return f"email {route.host}:{route.port} to {', '.join(route.to)}"


def send_log(route: LogRoute, alert: Alert, root: Path) -> None:
    path = Path(route.path) if Path(route.path).is_absolute() else root / route.path
    if not route.allow_outside_workspace and not path.resolve().is_relative_to(root.resolve()):
        # the config check is on the text; a symlink on the way can still lead out
        raise AlertDeliveryError(f"{describe(route)}: resolves to {path.resolve()}, outside the workspace {root}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AlertDeliveryError(f"{describe(route)}: {os_problem(err)}") from None
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({**alert.to_dict(), "subject": alert.subject}, default=str) + "\n")


def send_webhook(route: WebhookRoute, alert: Alert) -> None:
    url = _secret(route.url_env, describe(route))
    body = json.dumps({"text": alert.text, "buildcpg": alert.to_dict()}, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=route.timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        raise AlertDeliveryError(f"{describe(route)}: HTTP {err.code}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise AlertDeliveryError(mask(f"{describe(route)}: {reason}", url)) from None
    if not 200 <= status < 300:
        raise AlertDeliveryError(f"{describe(route)}: HTTP {status}")


def send_email(route: EmailRoute, alert: Alert) -> None:
    password = _secret(route.password_env, describe(route)) if route.password_env else None
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = route.sender
    message["To"] = ", ".join(route.to)
    message.set_content(alert.text + "\n\n" + json.dumps(alert.to_dict(), indent=2, default=str))
    try:
        with smtplib.SMTP(route.host, route.port, timeout=route.timeout_s) as smtp:
            if route.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=route.ca_file))
            if route.username:
                smtp.login(route.username, password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as err:
        raise AlertDeliveryError(mask(f"{describe(route)}: {type(err).__name__}: {err}", password)) from None


def deliver(route: Route, alert: Alert, root: Path) -> None:
    """Send ``alert`` through ``route``; raises AlertDeliveryError (secrets masked) on failure."""
    if isinstance(route, LogRoute):
        send_log(route, alert, root)
    elif isinstance(route, WebhookRoute):
        send_webhook(route, alert)
    else:
        send_email(route, alert)
