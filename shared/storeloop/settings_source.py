"""Where settings come from, without pydantic: the environment, Secrets Manager (one signed call per secret), and
the keep-then-re-read cache. `settings.py` types them; the authorizer reads its four fields straight from here.

Secrets Manager is read with one SigV4-signed `GetSecretValue` through botocore's own signer, request and HTTP
session, not through a botocore client: building a client loads its service model and endpoint rules, ~50 ms
of CPU at every cold start of every function, for one call per secret (bench/coldstart.py measures it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_SECONDS = 30.0
ATTEMPTS = 3  # as the clients' standard retry mode (data/connection.py RETRIES)
_RETRYABLE = {"ThrottlingException", "InternalServiceError", "RequestLimitExceeded", "ServiceUnavailable"}


class SettingsError(RuntimeError):
    """A required setting is missing or malformed: fail at cold start, not on the first request."""


def secret_arns(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    return [a for a in (a.strip() for a in environ.get("SECRET_ARNS", "").split(",")) if a]


def env_values(environ: dict[str, str], names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The settings the environment gives (NAME for a field `name`); empty means unset. AWS_REGION gives `region`."""
    values = {n: environ[n.upper()] for n in names if environ.get(n.upper()) not in (None, "")}
    if "region" in names and "region" not in values and environ.get("AWS_REGION"):
        values["region"] = environ["AWS_REGION"]
    return values


def _endpoint(region: str) -> str:
    # What botocore would use: the service's own override, the global one, else the partition's domain.
    custom = os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or os.environ.get("AWS_ENDPOINT_URL")
    if custom:
        return custom.rstrip("/")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://secretsmanager.{region}.{domain}"


def _credentials() -> Any:
    from botocore.credentials import EnvProvider

    creds = EnvProvider().load()  # in Lambda: the execution role's keys are in the environment
    if creds is None:
        from botocore.session import get_session

        creds = get_session().get_credentials()  # elsewhere: the whole chain (profile, SSO, IMDS…)
    if creds is None:
        raise SettingsError("no AWS credentials to read the secrets with")
    return creds.get_frozen_credentials()


def read_secret(arn: str, region: str, timeout: float = 5.0) -> str:
    """The SecretString of one secret. Throttling, 5xx and connection errors are retried (3 attempts in all)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import HTTPClientError
    from botocore.httpsession import URLLib3Session

    name = arn.rsplit(":", 1)[-1]
    body = json.dumps({"SecretId": arn})
    http = URLLib3Session(timeout=timeout)
    problem = "unreachable"
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(0.05 * 2 ** attempt)
        request = AWSRequest(method="POST", url=_endpoint(region) + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"})
        SigV4Auth(_credentials(), "secretsmanager", region).add_auth(request)
        try:
            response = http.send(request.prepare())
        except HTTPClientError as exc:
            problem = type(exc).__name__
            continue
        try:
            answer = json.loads(response.content or b"{}")
        except ValueError:
            answer = {}
        if response.status_code == 200 and isinstance(answer.get("SecretString"), str):
            return str(answer["SecretString"])
        code = str(answer.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP {response.status_code}"
        problem = code
        if response.status_code < 500 and code not in _RETRYABLE:
            break
    raise SettingsError(f"secret {name} could not be read: {problem}")


def read_secrets(environ: dict[str, str], region: str, fields: tuple[str, ...]) -> dict[str, object]:
    """The values of `fields` in every JSON secret SECRET_ARNS names (later secrets win). An empty value is a key
    not filled yet (the first deploy leaves them empty): the setting's default stands."""
    values: dict[str, object] = {}
    for arn in secret_arns(environ):
        name = arn.rsplit(":", 1)[-1]
        try:
            secret = json.loads(read_secret(arn, region))
        except ValueError:
            raise SettingsError(f"secret {name} is not a JSON object") from None
        if not isinstance(secret, dict):
            raise SettingsError(f"secret {name} is not a JSON object")
        values.update({k: v for k, v in secret.items() if k in fields and v not in (None, "")})
    return values


class Kept(Generic[T]):
    """Settings loaded once and kept: for the process's life without secrets to read; with SECRET_ARNS, for
    `ttl(value)` seconds, then read again, so a secret filled or rotated after a deploy reaches warm containers.
    An unchanged re-read keeps the same object (what is cached per settings object stays); a failed re-read keeps
    the last value and tries again 30 s later; a failed first read raises (the cold start fails, naming why)."""

    def __init__(self, load: Callable[[], T], ttl: Callable[[T], float],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load, self._ttl, self.clock = load, ttl, clock
        self._lock = threading.Lock()
        self._cached: tuple[T, float] | None = None  # the value and the monotonic time it is kept until

    def get(self) -> T:
        cached = self._cached
        if cached is not None and self.clock() < cached[1]:
            return cached[0]
        with self._lock:
            cached = self._cached
            if cached is not None and self.clock() < cached[1]:
                return cached[0]
            try:
                fresh = self._load()
            except Exception as exc:
                if cached is None:
                    raise
                logger.warning("settings re-read failed, keeping the last ones: %s", type(exc).__name__)
                self._cached = (cached[0], self.clock() + RETRY_AFTER_FAILURE_SECONDS)
                return cached[0]
            if cached is not None and fresh == cached[0]:
                fresh = cached[0]
            keep = self._ttl(fresh) if secret_arns(os.environ) else float("inf")
            self._cached = (fresh, self.clock() + keep)
            return fresh

    def reset(self) -> None:
        with self._lock:
            self._cached = None
