"""The HTTP gateway: the template's HttpApi routes on 127.0.0.1, as API Gateway v2 serves them.

Every function Event of Type HttpApi becomes a route (`{param}`, greedy `{proxy+}`, method
`ANY`, `$default`). A request becomes a payload format 2.0 event, the handler runs
in its function's worker, and its answer becomes the response as API Gateway maps it (a dict with
statusCode, or any other value as a 200 JSON body). Bodies are passed as text only for
textual content types; others (form posts included, as HTTP APIs do) arrive base64-encoded
with `isBase64Encoded: true`. An answer not back within HTTP APIs' integration timeout (30 s,
their most) is their 503, while the invocation goes on to its end, as a Lambda does when
API Gateway has stopped waiting for it.

Local-only pages live under `/_local/`: the email outbox and what the simulators received.
"""

from __future__ import annotations

import base64
import concurrent.futures
import html
import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from izin_local.lambda_runner import FunctionSpec, Invocation, LambdaRunner
from izin_local.outbox import Outbox
from izin_local.simulators import Simulator
from izin_local.template import ACCOUNT_ID

logger = logging.getLogger(__name__)

_API_ID: Final = "local"
_TEXT_TYPES: Final = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/graphql",
)
_PARAMETER: Final = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Route:
    """One HttpApi event: method and path template -> function."""

    method: str
    path: str
    function_logical_id: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def greedy(self) -> bool:
        return self.path == "$default" or "+}" in self.path

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.path.split("/") if part and "{" not in part)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if this route serves the request, else None."""
        if self.path == "$default":
            return {}
        if self.method not in ("ANY", method):
            return None
        matched = self._pattern().fullmatch(path)
        if matched is None:
            return None
        return {name: unquote(value) for name, value in matched.groupdict().items()}

    def _pattern(self) -> re.Pattern[str]:
        pattern, position = "", 0
        for parameter in _PARAMETER.finditer(self.path):
            pattern += re.escape(self.path[position : parameter.start()])
            name = parameter.group(1)
            if name.endswith("+"):
                pattern += f"(?P<{name[:-1]}>.+)"
            else:
                pattern += f"(?P<{name}>[^/]+)"
            position = parameter.end()
        return re.compile(pattern + re.escape(self.path[position:]))


def http_routes(functions: Iterable[FunctionSpec]) -> list[Route]:
    """Every HttpApi event of these functions, most specific first (as API Gateway picks)."""
    routes = [
        Route(
            method=str((event.get("Properties") or {}).get("Method", "ANY")).upper(),
            path=str((event.get("Properties") or {}).get("Path", "$default")),
            function_logical_id=spec.logical_id,
        )
        for spec in functions
        for event in spec.events.values()
        if event.get("Type") == "HttpApi"
    ]
    return sorted(
        routes, key=lambda route: (route.greedy, -route.literal_segments, route.method == "ANY")
    )


def payload_v2_event(
    *,
    route: Route,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    path_parameters: Mapping[str, str],
    source_ip: str,
) -> dict[str, Any]:
    """The API Gateway payload format 2.0 event for one request."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": _API_ID,
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": merged.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        if _is_text(merged.get("content-type", "")):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Any) -> HttpResponse:
    """A handler's answer as API Gateway (payload 2.0) turns it into an HTTP response."""
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], text.encode())
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    return HttpResponse(int(result["statusCode"]), headers, body)


def _json_response(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(
        status, [("Content-Type", "application/json")], json.dumps(payload).encode()
    )


def _html_response(status: int, page: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/html; charset=utf-8")], page.encode())


NOT_FOUND: Final = {"message": "Not Found"}
INTERNAL_ERROR: Final = {"message": "Internal Server Error"}
SERVICE_UNAVAILABLE: Final = {"message": "Service Unavailable"}
# HTTP APIs wait for an integration 30 s at most (their default, and the quota's ceiling).
INTEGRATION_TIMEOUT: Final = 30.0
# An HTTP API's largest request body; it answers 413 to more, before any integration.
MAX_BODY_BYTES: Final = 10 * 1024 * 1024
TOO_LARGE: Final = {"message": "Request Entity Too Large"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when many arrive at once
    gateway: HttpGateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A reader gone before its answer (a browser closed, a client that gave up) is one
        line in the log; anything else, its traceback, as socketserver prints it."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.warning("%s left before its answer: %s", client_address[0], error)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.gateway.respond(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class HttpGateway:
    """Binds at construction (so its URL is known early); serves once given the runner."""

    def __init__(
        self,
        *,
        port: int = 0,
        outbox: Outbox,
        simulators: Callable[[], list[Simulator]] = list,
        integration_timeout: float = INTEGRATION_TIMEOUT,
    ) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._integration_timeout = integration_timeout
        self._server.gateway = self
        self._outbox = outbox
        self._simulators = simulators
        self._runner: LambdaRunner | None = None
        self._routes: list[Route] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def serve(self, runner: LambdaRunner) -> None:
        self._runner = runner
        self._routes = http_routes(runner.functions.values())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="http-gateway",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def respond(
        self,
        *,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> HttpResponse:
        raw_path, _, raw_query = target.partition("?")
        if raw_path == "/_local" or raw_path.startswith("/_local/"):
            if method == "POST" and raw_path.startswith("/_local/simulators/"):
                return self._simulator_faults(raw_path, body)
            return self._local_page(method, raw_path, raw_query)
        if len(body) > MAX_BODY_BYTES:
            return _json_response(413, TOO_LARGE)
        for route in self._routes:
            # Matched on the path as sent; parameters are decoded once, in match().
            parameters = route.match(method, raw_path)
            if parameters is None:
                continue
            event = payload_v2_event(
                route=route,
                method=method,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=headers,
                body=body,
                path_parameters=parameters,
                source_ip=source_ip,
            )
            return self._call(route, event)
        return _json_response(404, NOT_FOUND)

    def _call(self, route: Route, event: dict[str, Any]) -> HttpResponse:
        runner = self._runner
        assert runner is not None
        answered: concurrent.futures.Future[Invocation] = concurrent.futures.Future()

        def invoke() -> None:
            try:
                answered.set_result(runner.invoke(route.function_logical_id, event))
            except BaseException as error:  # re-raised by answered.result()
                answered.set_exception(error)

        threading.Thread(target=invoke, name=f"invoke {route.route_key}", daemon=True).start()
        try:
            invocation = answered.result(timeout=self._integration_timeout)
        except concurrent.futures.TimeoutError:
            logger.warning(
                "%s: no answer within %s s: 503 (the invocation goes on)",
                route.route_key,
                self._integration_timeout,
            )
            return _json_response(503, SERVICE_UNAVAILABLE)
        if invocation.errored:
            return _json_response(500, INTERNAL_ERROR)
        try:
            return http_response(invocation.result)
        except (TypeError, ValueError):
            logger.exception("%s gave an answer API Gateway cannot map", route.route_key)
            return _json_response(500, INTERNAL_ERROR)

    # --- /_local/ ----------------------------------------------------------------------

    def _local_page(self, method: str, path: str, query: str) -> HttpResponse:
        if method not in ("GET", "HEAD"):
            return _json_response(404, NOT_FOUND)
        if path in ("/_local", "/_local/"):
            return _html_response(200, _page("Local runtime", _index()))
        if path == "/_local/outbox":
            return _html_response(200, _page("Outbox", _outbox_list(self._outbox)))
        if path.startswith("/_local/outbox/"):
            return self._outbox_message(path.removeprefix("/_local/outbox/"))
        if path == "/_local/simulators":
            simulators = {
                simulator.name: [request.as_dict() for request in simulator.requests]
                for simulator in self._simulators()
            }
            if dict(parse_qsl(query)).get("format") == "json":
                return _json_response(200, simulators)
            return _html_response(200, _page("Simulators", _simulator_list(simulators)))
        return _json_response(404, NOT_FOUND)

    def _simulator_faults(self, path: str, body: bytes) -> HttpResponse:
        """POST /_local/simulators/{name}/faults: make a simulator misbehave on purpose.

        Body: {"fail_next": N, "status": 500} | {"slow_next": N, "seconds": S} | {"down": true}
        | {"up": true}. What `izin simulate fault` sends.
        """
        name, _, rest = path.removeprefix("/_local/simulators/").partition("/")
        simulator = next((s for s in self._simulators() if s.name == name), None)
        if simulator is None or rest != "faults":
            return _json_response(404, NOT_FOUND)
        try:
            fault = json.loads(body or b"{}")
            if "fail_next" in fault:
                simulator.fail_next(int(fault["fail_next"]), status=int(fault.get("status", 500)))
            elif "slow_next" in fault:
                simulator.slow_next(int(fault["slow_next"]), float(fault["seconds"]))
            elif fault.get("down"):
                simulator.down()
            elif fault.get("up"):
                simulator.up()
            else:
                raise ValueError("say fail_next, slow_next, down or up")
        except (ValueError, KeyError, TypeError) as error:
            return _json_response(400, {"message": f"bad fault: {error}"})
        return _json_response(200, {"simulator": name, "fault": fault})

    def _outbox_message(self, name: str) -> HttpResponse:
        try:
            message = self._outbox.read(unquote(name))
        except KeyError:
            return _json_response(404, NOT_FOUND)
        if message.html is not None:
            return _html_response(200, message.html)
        return _html_response(
            200, _page(message.subject, f"<pre>{html.escape(message.text or '')}</pre>")
        )


def _page(title: str, content: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{content}</body></html>"
    )


def _index() -> str:
    return (
        "<ul><li><a href='/_local/outbox'>Outbox</a></li>"
        "<li><a href='/_local/simulators'>Simulators</a></li></ul>"
    )


def _outbox_list(outbox: Outbox) -> str:
    messages = outbox.messages()
    if not messages:
        return "<p>No email sent yet.</p>"
    items = []
    for message in messages:
        links = "".join(
            f"<li><a href='{html.escape(link)}'>{html.escape(link)}</a></li>"
            for link in message.links
        )
        items.append(
            "<li class='email'>"
            f"<a href='/_local/outbox/{html.escape(message.name)}'>"
            f"<strong>{html.escape(message.subject)}</strong></a>"
            f"<div>To: {html.escape(', '.join(message.to))}</div>"
            f"<div>Date: {html.escape(message.date.isoformat() if message.date else '')}</div>"
            f"<ul class='links'>{links}</ul></li>"
        )
    return f"<ol class='outbox'>{''.join(items)}</ol>"


def _simulator_list(simulators: Mapping[str, list[dict[str, Any]]]) -> str:
    if not simulators:
        return "<p>No simulators run (SIINAS_BASE_URL and OSS_BASE_URL are set).</p>"
    sections = []
    for name, requests in simulators.items():
        rows = "".join(
            f"<li><code>{html.escape(request['method'])} {html.escape(request['path'])}"
            f" → {request['status']}</code> at {html.escape(request['time'])}"
            f"<pre>{html.escape(json.dumps(request['json'], indent=2))}</pre></li>"
            for request in reversed(requests)
        )
        sections.append(
            f"<h2>{html.escape(name)} ({len(requests)})</h2><ol>{rows or '<li>none</li>'}</ol>"
        )
    return "".join(sections) + "<p><a href='?format=json'>as JSON</a></p>"
