"""A stand-in for GOV.UK Notify on loopback, speaking the parts of its REST API the portal uses,
so the real `notifications-python-client` is exercised end to end: it checks the client's
signed JWT, accepts emails and texts, lists notifications by reference, and answers with the
failures a test asks for (500, 429, 400)."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer

SERVICE_ID = "3f9b0c1e-2f5d-4a59-9a9a-0c7b3f1e6d21"
SECRET = "8d3e6b2a-1c4f-4e7a-b5d9-6a2f0e9c4b17"
API_KEY = f"wait_well_test-{SERVICE_ID}-{SECRET}"
EMAIL_TEMPLATE = "11111111-1111-4111-8111-111111111111"
SMS_TEMPLATE = "22222222-2222-4222-8222-222222222222"
CALLBACK_TOKEN = "a-callback-token-long-enough-to-guess-never"


class FakeNotify:
    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[dict] = []
        self.failures: list[int] = []  # status codes to answer with next, in order
        self.delay = delay
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeNotify":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def references(self) -> list[str]:
        with self.lock:
            return [n["reference"] for n in self.sent]

    def _handler(self):
        notify = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                try:
                    return get_token_issuer(token) == SERVICE_ID and decode_jwt_token(token, SECRET)
                except Exception:
                    return False

            def _failure(self) -> int | None:
                with notify.lock:
                    return notify.failures.pop(0) if notify.failures else None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                if not self._authorised():
                    return self._answer(403, {"errors": [{"error": "AuthError"}]})
                if status := self._failure():
                    return self._answer(status, {"errors": [{"error": f"Error {status}"}]})
                time.sleep(notify.delay)
                kind = self.path.rsplit("/", 1)[-1]
                if kind not in ("email", "sms"):
                    return self._answer(404, {"errors": [{"error": "not found"}]})
                notification = {
                    "id": str(uuid.uuid4()),
                    "reference": payload.get("reference"),
                    "type": kind,
                    "to": payload.get("email_address") or payload.get("phone_number"),
                    "template_id": payload.get("template_id"),
                    "personalisation": payload.get("personalisation", {}),
                    "one_click_unsubscribe_url": payload.get("one_click_unsubscribe_url"),
                    "received_at": time.time(),
                }
                with notify.lock:
                    notify.sent.append(notification)
                answer = {"id": notification["id"], "reference": notification["reference"]}
                self._answer(201, {**answer, "template": {"id": notification["template_id"]}})

            def do_GET(self) -> None:
                if not self._authorised():
                    return self._answer(403, {"errors": [{"error": "AuthError"}]})
                if status := self._failure():
                    return self._answer(status, {"errors": [{"error": f"Error {status}"}]})
                wanted = parse_qs(urlparse(self.path).query).get("reference", [None])[0]
                with notify.lock:
                    found = [n for n in notify.sent if n["reference"] == wanted]
                self._answer(200, {"notifications": found, "links": {"current": self.path}})

        return Handler
