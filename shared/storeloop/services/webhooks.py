"""Outbound webhooks, HQ's side: register an endpoint (secret shown once), list, rotate the secret, see deliveries.

How events are produced (services/webhook_events.py) and delivered (services/webhook_delivery.py) is in
docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import uuid
from collections.abc import Iterable

from storeloop import crypto
from storeloop.caller import Caller
from storeloop.data import webhooks
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.domain.webhooks import SECRET_GRACE, UrlRefused, check_url
from storeloop.errors import Conflict, NotFound, ValidationFailed
from storeloop.schemas.stores import ID_PATTERN
from storeloop.schemas.webhooks import (
    CreateWebhookEndpointRequest,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookSecretOut,
)
from storeloop.settings import Settings


def resolve_host(host: str) -> Iterable[str]:
    """Every address `host` resolves to (the URL check refuses a host with any private one)."""
    return {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}


def is_local(settings: Settings) -> bool:
    return settings.stage == "local"


def checked_url(settings: Settings, url: str) -> str:
    try:
        return check_url(url, local=is_local(settings), resolve=resolve_host)
    except UrlRefused as exc:
        raise ValidationFailed("this URL may not receive webhooks", details=[
            {"field": "url", "issue": "refused", "message": str(exc)}]) from None


def _purpose(endpoint_id: str) -> str:
    return f"webhook:{endpoint_id}"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def register(settings: Settings, caller: Caller, body: CreateWebhookEndpointRequest,
             idempotency_key: str | None = None) -> tuple[WebhookEndpointOut, bool]:
    """The endpoint and its secret (shown this once), and True; or, for the same Idempotency-Key and body again, the
    endpoint that key created without its secret (it is never shown twice, nor kept anywhere in plain), and False.
    The key fixes the endpoint id, so two retries racing create one endpoint."""
    url = checked_url(settings, body.url)
    if idempotency_key:
        if len(idempotency_key) > 128 or not idempotency_key.isprintable():
            raise ValidationFailed("Idempotency-Key is not valid",
                                   details=[{"field": "Idempotency-Key", "issue": "max 128 printable characters"}])
        digest = hashlib.sha256(f"{caller.member_id}\x1f{idempotency_key}".encode()).hexdigest()
        endpoint_id = "wh_" + digest[:20]
    else:
        endpoint_id = "wh_" + uuid.uuid4().hex[:20]
    secret = new_secret()
    try:
        item = webhooks.create_endpoint(endpoint_id, url, list(body.events),
                                    crypto.encrypt(settings.data_key, secret, _purpose(endpoint_id)),
                                    to_rfc3339(clock.now()), caller.member_id)
    except webhooks.AlreadyExists:
        if not idempotency_key:
            raise
        first = _endpoint(endpoint_id)
        if first.url != url or list(first.events or ()) != list(body.events):
            raise Conflict("this Idempotency-Key was used with another body", code="IDEMPOTENCY_KEY_REUSED") from None
        return WebhookEndpointOut(**first.public()), False
    return WebhookEndpointCreatedOut(**item.public(), secret=secret), True


def _endpoint(endpoint_id: str) -> webhooks.WebhookEndpoint:
    found = webhooks.get_endpoint(endpoint_id, consistent=True) if re.fullmatch(ID_PATTERN, endpoint_id) else None
    if found is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return found


def list_endpoints(limit: int, cursor: str | None) -> WebhookEndpointList:
    items, after = webhooks.list_endpoints(limit, cursor)
    return WebhookEndpointList(items=[WebhookEndpointOut(**e.public()) for e in items], next=after)


def rotate_secret(settings: Settings, endpoint_id: str) -> WebhookSecretOut:
    """A new secret, shown once; the current one keeps signing (beside the new) for SECRET_GRACE."""
    endpoint = _endpoint(endpoint_id)
    now = clock.now()
    secret = new_secret()
    until = to_rfc3339(now + SECRET_GRACE)
    try:
        webhooks.rotate_secret(endpoint, crypto.encrypt(settings.data_key, secret, _purpose(endpoint_id)),
                           endpoint.secret_enc, until, to_rfc3339(now))
    except webhooks.SecretChanged:
        raise Conflict("the secret was rotated at the same moment; retry", code="SECRET_ROTATING") from None
    return WebhookSecretOut(endpoint_id=endpoint_id, secret=secret, previous_valid_until=until)


def resume(endpoint_id: str) -> WebhookEndpointOut:
    _endpoint(endpoint_id)
    webhooks.resume(endpoint_id)
    return WebhookEndpointOut(**_endpoint(endpoint_id).public())


def deliveries(endpoint_id: str, limit: int, cursor: str | None) -> WebhookDeliveryList:
    _endpoint(endpoint_id)
    items, after = webhooks.deliveries(endpoint_id, limit, cursor)
    return WebhookDeliveryList(items=[WebhookDeliveryOut(**d.public()) for d in items], next=after)


def signing_secrets(settings: Settings, endpoint: webhooks.WebhookEndpoint) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during its grace."""
    found = [crypto.decrypt(settings.data_key, endpoint.secret_enc, _purpose(endpoint.endpoint_id))]
    if endpoint.previous_secret_enc and endpoint.previous_valid_until \
            and clock.now() < parse_rfc3339(endpoint.previous_valid_until):
        found.append(crypto.decrypt(settings.data_key, endpoint.previous_secret_enc, _purpose(endpoint.endpoint_id)))
    return found
